"""One-shot PostgreSQL migrations and the idempotent seed."""
