"""What a loaded model answers beyond predictions: what-if edits and the ultimate movie."""
