"""Actors, one module per area; each module registers its actors on a broker."""
