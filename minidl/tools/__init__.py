"""Floor 3, tools: pictures (viz), the command line (cli), the notebooks' checkers and source display,
the graph of operations autograd records (graph).
Imports the framework and training."""
