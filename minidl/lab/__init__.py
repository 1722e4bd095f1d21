"""Floor 4, the lab corner: the torch.nn twin, minidl-versus-PyTorch experiments and their report,
the build track's checks. The only place torch.nn / torch.optim / autograd may appear (as oracles)."""
