"""convhub_cli: the `convhub` command line for operators and developers."""
