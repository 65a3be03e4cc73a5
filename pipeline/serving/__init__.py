"""The shipped model: its bundle, the checks before loading it, the training catalogue and what-if answers."""
