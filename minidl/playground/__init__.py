"""Floor 4, the live playground (Notebook 10): app (controls, the training task), views (the figure).

    from minidl.playground import Playground
    Playground()
"""

from .app import Playground

__all__ = ["Playground"]
