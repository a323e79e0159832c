"""Every operation of the server app, once, as a function returning a ``Call`` (no I/O here)."""
