"""Tokens, key derivation, password hashing and random codes."""
