"""Floor 2, training: data, the builder from names, the training step and fit (compiled where it
applies), metrics, History, checkpoints. Imports only the framework."""
