"""Shared by every authstack service: settings, logging, errors, crypto, SQL, domain logic."""
