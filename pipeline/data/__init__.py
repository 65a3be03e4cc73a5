"""Loading, validating and cleaning the input folder; the temporal holdout and every fold."""
