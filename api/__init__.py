"""The HTTP API: every command and query of diners, kitchen staff and merchants."""
