"""The learner registry, the heads each learner fits, and the era target they fit."""
