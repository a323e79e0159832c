"""A Python server SDK for Stack Auth's REST API (and this project's server, which speaks it)."""
