"""The deterministic demo data with planted effects."""
