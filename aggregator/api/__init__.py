"""HTTP routes; the only place that maps errors to status codes."""
