"""convhub router: decides per site where each accepted conversion goes, and forwards to sGTM."""
