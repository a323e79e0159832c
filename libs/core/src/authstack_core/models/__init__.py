"""Typed records shared by the services; no I/O here."""
