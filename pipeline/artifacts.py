"""Names shared by the stages that write a run's artifacts and the report that reads them (the report
imports nothing else of the pipeline's models: it draws files)."""
from __future__ import annotations

STACK = "stack"                     # the shipped recipe's predictions (artifacts/oof/stack.parquet)
STACK_BAG = "stack_fold_mean"       # the stack over the mean of each learner's fold models (not shipped)
REFERENCE = "reference_catboost"    # the simple reference fitted in every run (pipeline/training/reference.py)
GREENLIGHT = "known at greenlight"  # the stack refitted on what a film has when it is greenlit
