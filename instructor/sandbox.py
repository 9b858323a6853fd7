"""Run a student's code in its own limited process and bring back what its functions return.

``run_submission(cells, calls, policy)`` starts ``sandbox_child.py`` in a fresh interpreter
(``python -I``: no user site, no PYTHON* variables, not the course folder on sys.path) with

- an empty temporary working directory, and the job files in a folder beside it;
- limits: ``policy.call_timeout_s`` per cell and per call, ``policy.timeout_s`` wall-clock for
  the whole process (then it is killed; the calls already done keep their results),
  ``policy.memory_mb`` of address space, CPU time, 256 MB per written file, no core files,
  one BLAS thread;
- the unprivileged user ``nobody`` when the grader runs as root and that user can run the
  course's Python (``unprivileged_user()`` probes it once); otherwise the grader's own user,
  with the audit hook of sandbox_child.py refusing writes outside the working folder, reads of
  the course folder, processes and sockets.

The expected values never enter that process: grading.py compares what comes back with the
answer key in its own process.
"""
from __future__ import annotations

import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checks import Call, CallResult, encode
from .model import Status
from .policy import Policy

CHILD = Path(__file__).resolve().with_name("sandbox_child.py")
ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
OUTPUT_LIMIT = 20_000   # characters of the submission's printed output kept for feedback
RESULT_LIMIT = 64 * 2**20   # bytes of arrays one call may send back


@dataclass
class SandboxResult:
    results: list[CallResult]
    statuses: list[Status] = field(default_factory=list)
    output: str = ""            # what the submission printed (stdout and stderr), truncated
    cell_errors: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def _write_job(job: Path, cells, calls: list[Call], policy: Policy) -> None:
    arrays: dict[str, np.ndarray] = {}
    encoded = [{"function": c.function, "args": [encode(a, arrays) for a in c.args],
                "kwargs": {k: encode(v, arrays) for k, v in c.kwargs.items()}} for c in calls]
    (job / "job.json").write_text(json.dumps({
        "cells": [list(c) for c in cells], "calls": encoded,
        "allowed_imports": sorted(policy.allowed_imports),
        "forbidden_roots": [str(ROOT)], "call_timeout_s": policy.call_timeout_s}))
    np.savez(job / "arrays.npz", allow_pickle=False, **arrays)


def _read_result(job: Path, i: int, note: str) -> tuple[CallResult, list[str]]:
    """Call i's result as the sandbox wrote it; a missing, malformed or oversized one (the
    process stopped, or the submission tampered with the writer) is a call not run."""
    try:
        record = json.loads((job / f"result_{i}.json").read_text()[:1_000_000])
        path = job / f"result_{i}.npz"
        with zipfile.ZipFile(path) as z:   # refuse to unpack more than a result can need
            if sum(member.file_size for member in z.infolist()) > RESULT_LIMIT:
                return CallResult(note=f"not graded: the result is too large (over "
                                       f"{RESULT_LIMIT // 2**20} MB)"), []
        with np.load(path, allow_pickle=False) as data:
            values = {k: data[k] for k in data.files}
        result = CallResult(
            value=values.get("value") if record["value"] else None,
            error=str(record["error"]), error_classes=tuple(map(str, record["error_classes"])),
            args_after=tuple(values.get(k) if k else None for k in record["args_after"]),
        )
        return result, [str(m) for m in record.get("blocked", [])]
    except Exception:   # noqa: BLE001 - whatever a tampered file holds, grading goes on
        return CallResult(note=note), []


# ------------------------------------------------------------------------------ the process
@functools.cache
def unprivileged_user() -> int | None:
    """The uid to run submissions as (nobody), or None when that is not possible here: the
    grader is not root, or nobody cannot run this Python (it lives in a private folder)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        probe = subprocess.run([sys.executable, "-I", "-c", "import numpy"],
                               preexec_fn=_drop_to(NOBODY), capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return NOBODY if probe.returncode == 0 else None


def _drop_to(uid: int | None):
    def drop() -> None:
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return drop


def _limits(policy: Policy, uid: int | None):
    def apply() -> None:
        os.setsid()   # its own process group: a timeout kills everything it started
        memory = policy.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        cpu = int(policy.timeout_s) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 2**20, 256 * 2**20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _drop_to(uid)()
    return apply


def run_submission(cells: list[tuple[str, str]], calls: list[Call], policy: Policy,
                   *, isolate_user: bool = True) -> SandboxResult:
    """Run ``cells`` (name, code) in the sandbox, then each call; one CallResult per call."""
    t0 = time.monotonic()
    uid = unprivileged_user() if isolate_user else None
    with tempfile.TemporaryDirectory(prefix="ce-grade-") as tmp:
        work, job = Path(tmp) / "work", Path(tmp) / "job"
        work.mkdir()
        job.mkdir()
        _write_job(job, cells, calls, policy)
        if uid is not None:
            for path in (Path(tmp), work, job, *job.iterdir()):
                os.chown(path, uid, uid)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
        statuses: list[Status] = []
        with open(Path(tmp) / "output.txt", "w+b") as output:
            process = subprocess.Popen(
                [sys.executable, "-I", str(CHILD), str(job)], cwd=work, env=env,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                preexec_fn=_limits(policy, uid))
            try:
                process.wait(timeout=policy.timeout_s)
            except subprocess.TimeoutExpired:
                statuses.append(Status("timeout", f"stopped after {policy.timeout_s:g} s"))
                _kill(process)
            output.seek(0)
            printed = output.read(OUTPUT_LIMIT + 1).decode("utf-8", "replace")
        if len(printed) > OUTPUT_LIMIT:
            printed = printed[:OUTPUT_LIMIT] + "\n[... output cut]"

        died = process.returncode not in (0, None) and not statuses
        note = "not run: the grading process stopped before this call"
        if statuses:
            note = f"not run: the submission ran out of time ({policy.timeout_s:g} s in all)"
        elif process.returncode in (-9, -24):   # SIGKILL / SIGXCPU: the CPU-time limit
            statuses.append(Status("timeout", "CPU-time limit"))
            died = False
        results, blocked = [], []
        for i in range(len(calls)):
            result, refused = _read_result(job, i, note)
            results.append(result)
            blocked += refused
        try:
            defined = json.loads((job / "defined.json").read_text()[:1_000_000])
            cell_errors = [(str(name), str(error)) for name, error in defined["cell_errors"]]
            defined_blocked = [str(m) for m in defined.get("blocked", [])]
        except Exception:   # noqa: BLE001 - missing or tampered: no cell errors to report
            cell_errors, defined_blocked = [], []
    for name, error in cell_errors:
        kind = "timeout" if error.startswith("TimeoutError") else \
            "memory" if error.startswith("MemoryError") else "crash"
        statuses.append(Status(kind, f"{name}: {error}"))
    if any(r.error.startswith("MemoryError") for r in results):
        statuses.append(Status("memory", "a call ran out of memory "
                                         f"({policy.memory_mb} MB)"))
    if any(r.error.startswith("TimeoutError") for r in results):
        statuses.append(Status("timeout", f"a call ran longer than {policy.call_timeout_s:g} s"))
    refused = sorted(set(defined_blocked) | set(blocked))
    if refused:
        statuses.append(Status("forbidden_import", ", ".join(refused) + " (refused at run time)"))
    if died:
        last = printed.strip().splitlines()[-1:] or [""]
        statuses.append(Status("sandbox_died", f"exit code {process.returncode}: {last[0][:200]}"))
    return SandboxResult(results, statuses, printed, cell_errors, time.monotonic() - t0)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()
