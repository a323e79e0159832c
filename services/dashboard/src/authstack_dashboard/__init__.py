"""authstack's admin dashboard: server-rendered pages that talk only to the API."""
