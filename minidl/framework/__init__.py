"""Floor 1, the framework: the math a learner reads — modules, their hand-written backward passes,
losses, optimizers, initialisers, the finite-difference check. Imports nothing else of minidl."""
