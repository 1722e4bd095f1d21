"""Run a command in a private directory: its own cwd, HOME and TMPDIR, and a wall-clock limit.

A graded notebook is a learner's code: it may crash, loop forever or delete files. Each run gets a
fresh directory with copies of the files it needs; HOME and TMPDIR point inside it, so a cell that
deletes "everything" it can name (cwd, ~, /tmp files of the run) deletes only that copy. Past the
time limit the whole process tree is killed, the Jupyter kernel included (Jupyter starts kernels
in their own session, so killing the process group alone would leave a looping kernel behind).

This isolates submissions from each other and from the instructor's files by convention, not by
force: a cell that names an absolute path elsewhere can still reach it. It is not a security
sandbox; for untrusted code at scale use otter's container grading (`otter grade`, Docker).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

MARK = "MINIDL_COURSE_RUN"      # set in every sandboxed process's environment: how leftovers are found


@dataclass
class Run:
    """What came back: the exit code (None if killed at the time limit) and the merged output."""

    returncode: int | None
    output: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def private_dir(workdir: Path, files: dict[str, Path]) -> Path:
    """Create workdir with home/ and tmp/ and a copy of each file (name in workdir -> source)."""
    workdir.mkdir(parents=True)
    for sub in ("home", "tmp"):
        (workdir / sub).mkdir()
    for name, source in files.items():
        shutil.copy2(source, workdir / name)
    return workdir


def run_isolated(cmd: list[str], workdir: Path, timeout: float) -> Run:
    """Run cmd in workdir (made by private_dir) with HOME and TMPDIR inside it, at most timeout s."""
    env = dict(os.environ, HOME=str(workdir / "home"), TMPDIR=str(workdir / "tmp"), **{MARK: str(workdir)},
               JUPYTER_RUNTIME_DIR=str(workdir / "home" / "runtime"), PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("OMP_NUM_THREADS", "1")      # tiny networks: extra threads only spin (tests/conftest.py)
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        env.pop(key, None)                      # nothing read or written outside the private HOME
    with open(workdir / "run.log", "w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
            kill_tree(proc.pid)
            proc.wait()
        kill_marked(str(workdir))               # whatever outlived it (an orphaned kernel)
        log.seek(0)
        return Run(returncode, log.read())


def kill_tree(pid: int) -> None:
    """SIGKILL pid and every descendant (gathered first, so reparented children are not missed)."""
    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + [root]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=5)


def kill_marked(workdir: str) -> None:
    """SIGKILL every process of ours whose environment carries MARK=workdir."""
    for p in psutil.process_iter():
        try:
            if p.environ().get(MARK) == workdir:
                kill_tree(p.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
