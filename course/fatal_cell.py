"""Find the first cell of a notebook that kills its kernel or runs past a time limit.

    python course/fatal_cell.py NOTEBOOK SECONDS REPORT.json
    REPORT.json: {"cell": index or null, "reason": "..."}

Cells run one by one in a fresh kernel; errors are allowed (an exception is the learner's to
lose points for, not a reason to stop). Run it inside a private directory (sandbox.py): it executes
the learner's code. grade.py uses it when otter could not finish a submission.
"""

import json
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


def first_fatal_cell(path: str, seconds: float) -> dict:
    """{"cell": i, "reason": why} for the first cell that kills the kernel or overruns, else cell None."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=seconds, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": "."}}, shutdown_kernel="immediate")
    try:
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, i)
                except DeadKernelError:
                    return {"cell": i, "reason": f"cell {i} killed the kernel"}
                except CellTimeoutError:
                    return {"cell": i, "reason": f"cell {i} ran over the {seconds:g} s time limit"}
    except DeadKernelError as e:                     # died while shutting down: nothing to blame
        return {"cell": None, "reason": f"the kernel died at shutdown ({e})"}
    return {"cell": None, "reason": "every cell finished"}


if __name__ == "__main__":
    notebook, limit, report = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    result = first_fatal_cell(notebook, limit)
    with open(report, "w", encoding="utf-8") as f:
        json.dump(result, f)
    sys.exit(0)
