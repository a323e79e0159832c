"""Code shared by every authstack service: settings, logging, errors, crypto, SQL and domain logic."""
