"""End-to-end tests: real processes and a real browser (a package, so its fixtures end with it)."""
