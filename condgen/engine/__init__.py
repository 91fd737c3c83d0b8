"""Training machinery: the loop, checkpoints, run folders. Names no plugin."""
