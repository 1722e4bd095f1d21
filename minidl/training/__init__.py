"""Floor 2, training: data, the builder from names, the training step and fit (compiled where it
applies), metrics, History, checkpoints, the learning-rate range test and
the per-layer diagnostics callback. Imports only the framework."""
