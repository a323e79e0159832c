"""Use cases shared by services; each owns its transaction."""
