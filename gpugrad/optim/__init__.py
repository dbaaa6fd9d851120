"""gg.optim: optimizers and learning-rate schedulers (being written)."""
