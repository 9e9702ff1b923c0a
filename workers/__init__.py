"""Workers: one consumer-group runner plus one module per role (persist, stats, printer, …)."""
