"""Email tests use the sink, worker and Redis fixtures of ``tests.mail`` (via tests/conftest.py)."""
