"""`python -m minidl`: the course experiment from the command line (see minidl.cli)."""

from .tools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
