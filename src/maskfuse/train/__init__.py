"""Pretraining: optimizer and schedule, the loop, checkpoints and logs."""
