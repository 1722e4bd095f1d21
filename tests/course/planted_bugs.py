"""Planted bugs: one solution line changed; the submission must lose exactly the named questions.

Each row: (instructor notebook, questions that must lose all their points, the solution line as it
is (stripped, exactly one such line in the notebook's solution regions), the line that replaces
it, what the bug is). Every other question must keep full marks. Rows whose notebook is not in the
tree yet are skipped by collection, not by a skip marker: add the build track's rows here when
notebooks/13_* lands (course/PLANTED_BUGS.md lists the bugs the issue names).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from course.source import solution_lines

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = "tests/course/fixtures/build_mini.ipynb"
BUILD = "notebooks/13_build_your_framework.ipynb"          # the build track (issue 10, item 2)

PLANTED = [
    # the fixture: the machinery on a small assignment (its other bugs are the build track's, below)
    (FIXTURE, {"linear"}, "self.weight.grad += grad_output.T @ self.x          # (out, in)",
     "self.weight.grad = grad_output.T @ self.x", "overwrite instead of accumulate"),
    (FIXTURE, {"sgd_momentum"}, "v.mul_(self.momentum).add_(p.grad)",
     "v.copy_(p.grad)", "SGD ignoring momentum"),
    (FIXTURE, {"train"}, "model.zero_grad()", "pass", "gradients never zeroed between steps"),
    # the build track: the eight bugs issue 10 names
    (BUILD, {"linear"}, "self.grad_weight += grad_output.T @ self.x          # (out, in), accumulated",
     "self.grad_weight = grad_output.T @ self.x", "overwrite instead of accumulate"),
    (BUILD, {"linear"}, "self.grad_bias += grad_output.sum(dim=0)            # (out,), accumulated",
     "self.grad_bias += grad_output.mean(dim=0)", "bias gradient mean instead of sum"),
    (BUILD, {"mse"}, "return 2 * self.diff / self.diff.numel()",
     "return self.diff / self.diff.numel()", "MSE gradient off by 2"),
    (BUILD, {"tanh"}, "return grad_output * (1 - self.y ** 2)",
     "return grad_output * (1 - torch.tanh(self.y) ** 2)", "Tanh derivative from x's formula, not y's"),
    (BUILD, {"sgd"}, "self.buffers[k].mul_(self.momentum).add_(gradient)",
     "self.buffers[k].mul_(self.momentum).add_(gradient, alpha=1 - self.momentum)",
     "momentum as an exponential moving average"),
    (BUILD, {"cross_entropy"}, "shifted = logits - logits.max(dim=1, keepdim=True).values",
     "shifted = logits", "cross-entropy without the max shift"),
    (BUILD, {"linear"}, "return [[self.weight, self.grad_weight], [self.bias, self.grad_bias]]",
     "return [[self.weight.clone(), self.grad_weight.clone()], [self.bias.clone(), self.grad_bias.clone()]]",
     "param() returning copies"),
    (BUILD, {"sgd"}, "if self.momentum:", "if False:", "SGD ignoring momentum"),
]


def rows_present() -> list[tuple]:
    """The rows whose notebook exists in this checkout."""
    return [row for row in PLANTED if (ROOT / row[0]).is_file()]


def plant(instructor: Path, solutions: Path, old: str, new: str) -> nbformat.NotebookNode:
    """The solutions notebook (otter format, from make student) with the one line `old` -> `new`."""
    secret = {line for _, line in solution_lines(nbformat.read(instructor, as_version=4))}
    if old.strip() not in secret:
        raise ValueError(f"{instructor}: expected {old.strip()!r} inside a solution region, got no such line")
    nb = nbformat.read(solutions, as_version=4)
    hits = [(i, n) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for n, line in enumerate(c.source.splitlines()) if line.strip() == old.strip()]
    if len(hits) != 1:
        raise ValueError(f"{solutions}: expected exactly one line {old.strip()!r}, got {len(hits)}")
    i, n = hits[0]
    lines = nb.cells[i].source.splitlines()
    lines[n] = lines[n][: len(lines[n]) - len(lines[n].lstrip())] + new.strip()
    nb.cells[i].source = "\n".join(lines)
    return nb
