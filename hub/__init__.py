"""The WebSocket hub: fans every restaurant's event log out to its screens."""
