"""make student: the student edition, generated from the instructor notebooks (never hand-kept).

    notebooks/NN_x.ipynb  (instructor edition: solutions in, outputs committed, run by nbval)
      ├─ has `# ASSIGNMENT CONFIG` ─ otter assign ─┬─ build/student/NN_x.ipynb    stubs, public tests
      │                                            ├─ build/autograder/NN_x.zip   all tests (make grade)
      │                                            └─ build/autograder/NN_x.ipynb the solutions, otter format
      └─ otherwise ─ solution regions → their prompts, those cells' outputs cleared → build/student/
    every other file git tracks under the notebooks' folder (data, figures, results/) is copied alongside.

    python -m course.editions [NOTEBOOK_OR_FOLDER ...] [--out build] [--run-tests]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from course.source import drop_solution_markdown, is_assignment, strip_solutions

SKIP = {".ipynb_checkpoints", "__pycache__", ".OTTER_LOG"}


def build(sources: list[Path], out: Path, run_tests: bool = False) -> list[Path]:
    """Write the student edition of each notebook into out/student (assignments' autograders into
    out/autograder); return the student notebooks written. Copies the notebooks' folders' other files."""
    student, autograder = out / "student", out / "autograder"
    for d in (student, autograder, out / "otter"):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for folder in sorted({p.parent for p in sources}):
        copy_support_files(folder, student)
    written = []
    for src in sources:
        nb = nbformat.read(src, as_version=4)
        if is_assignment(nb):
            written.append(assign(src, out, run_tests))
        else:
            target = student / src.name
            nbformat.write(strip_solutions(nb), target)
            written.append(target)
    return written


def assign(src: Path, out: Path, run_tests: bool) -> Path:
    """otter assign src; keep its student notebook, autograder zip and solutions notebook."""
    from otter.assign import main as otter_assign  # imports pandas & co: only when needed

    result = out / "otter" / src.stem
    try:
        otter_assign(str(src), str(result), no_run_tests=not run_tests, no_pdfs=True)
    except Exception as e:
        raise RuntimeError(f"{src}: otter assign expected a valid otter notebook, got "
                           f"{type(e).__name__}: {e}") from None
    zips = sorted((result / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"{src}: expected one autograder zip from otter assign (set `generate: true` "
                           f"in ASSIGNMENT CONFIG), got {len(zips)}")
    shutil.copy2(zips[0], out / "autograder" / f"{src.stem}.zip")
    shutil.copy2(result / "autograder" / src.name, out / "autograder" / src.name)
    for f in (result / "student").iterdir():                 # the notebook and its `files:`
        if f.suffix != ".ipynb" and f.is_file():
            shutil.copy2(f, out / "student" / f.name)
    target = out / "student" / src.name
    nb = nbformat.read(result / "student" / src.name, as_version=4)
    nbformat.write(drop_solution_markdown(nb), target)
    return target


def copy_support_files(folder: Path, student: Path) -> None:
    """Every file under folder that git tracks (so nothing a notebook run wrote, such as a file of
    the instructor's solutions), except notebooks and caches, at the same relative paths."""
    for f in support_files(folder):
        rel = f.relative_to(folder)
        (student / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, student / rel)


def support_files(folder: Path) -> list[Path]:
    """Files under folder tracked by git (all files outside a git checkout), minus notebooks and caches."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=folder, capture_output=True)
    if listed.returncode == 0:
        files = [folder / name for name in listed.stdout.decode().split("\0") if name]
    else:
        files = [f for f in folder.rglob("*") if f.is_file()]
    return sorted(f for f in files if f.is_file() and f.suffix != ".ipynb"
                  and not SKIP.intersection(f.relative_to(folder).parts))


def notebooks_in(paths: list[Path]) -> list[Path]:
    """The .ipynb files named, or found directly inside the folders named."""
    found = []
    for p in paths:
        if p.is_dir():
            found += sorted(p.glob("*.ipynb"))
        elif p.suffix == ".ipynb" and p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"course.editions: expected a notebook or a folder, got {p}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.editions", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("notebooks")])
    parser.add_argument("--out", type=Path, default=Path("build"))
    parser.add_argument("--run-tests", action="store_true",
                        help="let otter assign also run every test against the solutions (slower)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    written = build(notebooks_in(args.paths), args.out, args.run_tests)
    n_assign = len(list((args.out / "autograder").glob("*.zip")))
    print(f"student edition: {len(written)} notebooks in {args.out / 'student'} ({n_assign} with "
          f"autograders in {args.out / 'autograder'}), {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
