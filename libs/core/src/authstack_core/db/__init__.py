"""PostgreSQL access: the pool factory and plain parameterised queries by area."""
