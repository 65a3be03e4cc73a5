"""The training run's stages, one module each, in the order pipeline/workflow.py's table runs them.

Each module holds one stage function: its parameters name what it reads, it returns what it makes.
The logic sits in the modules it calls; a stage only wires them and says which files it writes.
"""
