"""Feature builders, one module per kind of input."""
