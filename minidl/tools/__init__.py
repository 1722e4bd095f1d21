"""Floor 3, tools: pictures (viz), the command line (cli), the notebooks' checkers and source display.
Imports the framework and training."""
