#!/usr/bin/env python
"""One command, end to end: `python run_all.py [--data-dir DIR] [--demo] [--fast]`.

Same as `python -m pipeline run ...`: load -> clean -> features -> learners -> stack ->
evaluate -> refit -> explain -> report (see pipeline/workflow.py).
"""
import sys

from pipeline.cli import main, run_all_parser

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], run_all_parser()))
