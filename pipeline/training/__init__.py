"""Out-of-fold learners, the stacker, tuning, evaluation, intervals and checkpoints."""
