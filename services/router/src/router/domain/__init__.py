"""The router's domain: site configuration, routing decisions, sGTM delivery rules (stdlib only)."""
