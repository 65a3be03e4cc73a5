"""What a model folder holds, in one layer that training fits and serving loads: the feature blocks and heads
of the learners (registry, blocks, heads, target, seednet), the stacker, the interval model, the catalogue of
training movies, the reason groups, the bundle of them all with its save and load, the checks a folder passes
before it is read (trust), and the format version with its migrations (format)."""
