"""Pure Google rules: request payloads, what Google refuses, its answers classified."""
