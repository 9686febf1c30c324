"""Training, evaluation and prediction: the loops, their configs, checkpoints and DDP plumbing."""
