"""make student: the student edition, generated from the instructor notebooks (never hand-kept).

    notebooks/NN_x.ipynb  (instructor edition: solutions in, outputs committed, run by nbval)
      ├─ has `# ASSIGNMENT CONFIG` ─ otter assign ─┬─ build/student/NN_x.ipynb    stubs, public tests
      │                                            ├─ build/autograder/NN_x.zip   all tests (make grade)
      │                                            └─ build/autograder/NN_x.ipynb the solutions, otter format
      └─ otherwise ─ solution regions → their prompts, those cells' outputs cleared → build/student/
    every other file git tracks under the notebooks' folder (data, figures, results/) is copied alongside.
    A student file changed since make student wrote it (a learner's work) is kept, not overwritten.

    python -m course.editions [NOTEBOOK_OR_FOLDER ...] [--out build] [--run-tests]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from course.source import drop_solution_markdown, is_assignment, strip_solutions

SKIP = {".ipynb_checkpoints", "__pycache__", ".OTTER_LOG"}


def build(sources: list[Path], out: Path, run_tests: bool = False, echo=print) -> list[Path]:
    """Write the student edition of each notebook into out/student (assignments' autograders into
    out/autograder); return the student notebooks. Copies the notebooks' folders' other files.
    A student file changed since the last build (a learner's work) is kept, never overwritten."""
    student, autograder = out / "student", out / "autograder"
    for d in (autograder, out / "otter"):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    student.mkdir(parents=True, exist_ok=True)
    writer = StudentFiles(student, echo)
    for folder in sorted({p.parent for p in sources}):
        for f in support_files(folder):
            writer.write(f.relative_to(folder), f.read_bytes())
    written = []
    for src in sources:
        nb = nbformat.read(src, as_version=4)
        if is_assignment(nb):
            nb = assign(src, out, run_tests, writer)
        else:
            nb = strip_solutions(nb)
        writer.write(Path(src.name), nbformat.writes(nb).encode() + b"\n")
        written.append(student / src.name)
    writer.save()
    return written


class StudentFiles:
    """Writes into the student folder, remembering each file's hash (in .editions.json) so that a
    file changed since (a learner's work) is kept the next time, with a one-line note."""

    def __init__(self, folder: Path, echo):
        self.folder, self.echo, self.index = folder, echo, folder / ".editions.json"
        self.hashes = json.loads(self.index.read_text()) if self.index.is_file() else {}

    def write(self, rel: Path, data: bytes) -> None:
        target, key = self.folder / rel, rel.as_posix()
        if target.is_file() and _sha(target.read_bytes()) != self.hashes.get(key):
            self.echo(f"kept {target}: changed since make student wrote it (delete it to regenerate)")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.hashes[key] = _sha(data)

    def save(self) -> None:
        self.index.write_text(json.dumps(self.hashes, indent=1, sort_keys=True))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assign(src: Path, out: Path, run_tests: bool, writer: StudentFiles) -> nbformat.NotebookNode:
    """otter assign src; keep its autograder zip and solutions notebook; return the student notebook."""
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
    for f in (result / "student").iterdir():                 # the notebook's `files:`
        if f.suffix != ".ipynb" and f.is_file():
            writer.write(Path(f.name), f.read_bytes())
    return drop_solution_markdown(nbformat.read(result / "student" / src.name, as_version=4))


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
