"""The background worker: dramatiq actors that deliver what the outbox tables hold."""
