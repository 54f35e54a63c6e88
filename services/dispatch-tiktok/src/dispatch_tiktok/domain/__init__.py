"""Pure TikTok rules: event names, what TikTok refuses, its answer codes."""
