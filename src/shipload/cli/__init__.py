"""The `shipload` command line."""
