"""The sandboxed side of grading: runs one submission's code and calls its functions.

Started by sandbox.py as ``python -I sandbox_child.py JOB_DIR`` in a fresh interpreter, in an
empty working directory, under CPU-time, memory and file-size limits (and as the unprivileged
user "nobody" where that user can run Python). It imports nothing from the course: it cannot
see ce_lib, torch, the answer key or the gradebook, and it sends back only plain data.

JOB_DIR/job.json  (written by the grader)
    {"cells": [[name, code], ...], "calls": [{"function": f, "args": [...], "kwargs": {...}}],
     "allowed_imports": [...], "forbidden_roots": [...], "call_timeout_s": s}
    An argument is encoded as {"array": KEY} (KEY in JOB_DIR/arrays.npz), {"value": scalar},
    {"tuple": [...]}, {"list": [...]} or null.
JOB_DIR/defined.json  (written here, after the cells ran)
    {"cell_errors": [[name, "Error: message"], ...], "blocked": [module, ...]}
JOB_DIR/result_I.json and result_I.npz  (written here, one pair per call, as each call ends)
    {"error": "", "error_classes": [...], "value": "value"|null, "args_after": [KEY|null, ...],
     "blocked": [...]}

Nothing here is trusted by the grader beyond "this is what the function returned": the expected
values never enter this process, so a submission that patches numpy, builtins or this script
can change only its own answers.
"""
import json
import os
import signal
import sys
import traceback

import numpy as np

JOB = sys.argv[1]
LAZY_SUBMODULES = ("numpy.testing", "numpy.linalg", "numpy.fft", "numpy.random",
                   "numpy.polynomial", "numpy.ma", "numpy.lib.stride_tricks", "logging",
                   "warnings")
WRITE = open  # kept before any submission code runs
SAVEZ = np.savez
ASARRAY = np.asarray
DUMPS = json.dumps


class CallTimeout(BaseException):
    """One call of a student's function ran past call_timeout_s (BaseException: an `except
    Exception` in the student's code does not swallow it)."""


def install_guard(allowed, forbidden_roots, blocked):
    """An audit hook (it cannot be removed) that refuses, for the submission's code:
    imports outside ``allowed`` (asked for by the submission, directly or through importlib
    or any library, not numpy's own imports), opening directories (a directory handle would
    let a relative path escape the checks below), reading files under the course folder (the
    answer key, ce_lib), /proc and /sys (the grader's memory), writing outside the working
    directory and the job folder, listing the course folder, starting processes, sockets,
    ctypes, and the gc functions that reach other code's objects."""
    allowed = frozenset(allowed)
    work = os.getcwd()
    library = tuple(os.path.realpath(p) for p in {sys.prefix, sys.base_prefix,
                                                   sys.exec_prefix, os.path.dirname(np.__file__)})
    forbidden_roots = tuple(os.path.realpath(r) for r in forbidden_roots)
    system = ("/proc", "/sys")
    job = os.path.realpath(JOB)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    denied_events = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                     "os.fork", "os.forkpty", "socket.", "ctypes.", "os.kill", "os.killpg",
                     "sys.setprofile", "sys.settrace", "os.chmod", "os.chown", "os.link",
                     "os.symlink", "shutil.", "os.remove", "os.rename", "os.rmdir", "os.truncate",
                     "os.chdir", "os.chroot", "gc.get_objects", "gc.get_referrers",
                     "gc.get_referents", "sys.addaudithook", "code.__new__", "function.__new__")

    def asked_by_submission(top):
        """None if no submission code is on the stack; else the top-level module it asked
        for: ``top``, or the outermost module being loaded on its behalf (importlib's
        import_module raises no import event for the module asked for, only for the ones
        that module imports in turn)."""
        frame, outermost = sys._getframe(2), top
        while frame is not None:
            if frame.f_code.co_filename.startswith("<submission"):
                return outermost
            if frame.f_code.co_name == "<module>":
                outermost = str(frame.f_globals.get("__name__", top)).split(".")[0]
            frame = frame.f_back
        return None

    def under(path, roots):
        return any(path == r or path.startswith(r + os.sep) for r in roots)

    def hook(event, args):
        if event == "import":
            top = str(args[0]).split(".")[0]
            asked = None if top in allowed or top in sys.modules else asked_by_submission(top)
            if asked is not None:
                blocked.append(asked)
                raise ImportError(f"the grader does not allow importing {asked!r} in this "
                                  "assignment")
        elif event == "open":
            path, mode, flags = args
            if not isinstance(path, (str, bytes)):
                return
            real = os.path.realpath(os.fsdecode(path))
            writing = (isinstance(mode, str) and any(m in mode for m in "wax+")) or \
                (isinstance(flags, int) and flags & write_flags)
            if os.path.isdir(real):
                raise PermissionError(f"the grader does not allow opening the folder {real}")
            if writing and not (under(real, (work, job)) or real == os.devnull):
                raise PermissionError(f"the grader does not allow writing {real}")
            if under(real, system) or (under(real, forbidden_roots)
                                       and not under(real, library + (work, job))):
                raise PermissionError(f"the grader does not allow reading {real}")
        elif event in ("os.listdir", "os.scandir"):
            path = args[0]
            if isinstance(path, (str, bytes)) and under(
                    os.path.realpath(os.fsdecode(path)), forbidden_roots + system):
                raise PermissionError("the grader does not allow listing the course folder")
        elif event.startswith(denied_events):
            raise PermissionError(f"the grader does not allow {event}")

    sys.addaudithook(hook)


def decode(item, arrays):
    if item is None:
        return None
    if "array" in item:
        return arrays[item["array"]].copy()
    if "value" in item:
        return item["value"]
    if "tuple" in item:
        return tuple(decode(i, arrays) for i in item["tuple"])
    return [decode(i, arrays) for i in item["list"]]


def error_text(exc):
    return f"{type(exc).__name__}: {str(exc)[:500]}"


def on_alarm(signum, frame):
    raise CallTimeout()


def main():
    with open(os.path.join(JOB, "job.json")) as f:
        job = json.load(f)
    with np.load(os.path.join(JOB, "arrays.npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    calls = [(c["function"], [decode(a, arrays) for a in c["args"]],
              {k: decode(v, arrays) for k, v in c["kwargs"].items()}) for c in job["calls"]]
    blocked = []
    for lazy in LAZY_SUBMODULES:   # loaded now: numpy imports them on first use, which the
        try:                       # guard would count as the submission's own import
            __import__(lazy)
        except ImportError:
            pass
    install_guard(job["allowed_imports"], job["forbidden_roots"], blocked)
    signal.signal(signal.SIGALRM, on_alarm)

    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    cell_errors = []
    for name, code in job["cells"]:
        try:
            signal.setitimer(signal.ITIMER_REAL, job["call_timeout_s"])
            exec(compile(code, f"<submission {name}>", "exec"), namespace)
        except CallTimeout:
            cell_errors.append([name, "TimeoutError: the cell ran out of time"])
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: keep grading
            cell_errors.append([name, error_text(exc)])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    write_json("defined.json", {"cell_errors": cell_errors, "blocked": sorted(set(blocked))})

    for i, (function, args, kwargs) in enumerate(calls):
        record = {"error": "", "error_classes": [], "value": None, "args_after": [],
                  "blocked": []}
        out = {}
        before = len(blocked)
        try:
            f = namespace.get(function)
            if not callable(f):
                raise NameError(f"name {function!r} is not defined (or not a function)")
            signal.setitimer(signal.ITIMER_REAL, job["call_timeout_s"])
            try:
                value = f(*args, **kwargs)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            array = ASARRAY(value)
            if array.dtype.kind in "biufcm":
                out["value"] = array
                record["value"] = "value"
            else:   # not an error of the function's: error_classes stays empty
                record["error"] = (f"returned {type(value).__name__} {str(value)[:80]!r}, "
                                   "not numbers")
        except CallTimeout:
            record["error"] = f"TimeoutError: the call ran longer than {job['call_timeout_s']} s"
            record["error_classes"] = ["TimeoutError"]
        except BaseException as exc:
            record["error"] = error_text(exc)
            record["error_classes"] = [c.__name__ for c in type(exc).__mro__]
        for j, a in enumerate(list(args) + list(kwargs.values())):
            if isinstance(a, np.ndarray):
                out[f"arg{j}"] = a
                record["args_after"].append(f"arg{j}")
            else:
                record["args_after"].append(None)
        record["blocked"] = sorted(set(blocked[before:]))
        try:
            SAVEZ(os.path.join(JOB, f"result_{i}.npz"), allow_pickle=False, **out)
        except Exception as exc:
            record.update(value=None, error=f"returned a value that cannot be sent back "
                                            f"({error_text(exc)})", error_classes=[])
            SAVEZ(os.path.join(JOB, f"result_{i}.npz"))
        write_json(f"result_{i}.json", record)


def write_json(name, data):
    """Written last for its call: a file cut short (the process killed) does not parse, and the
    grader treats the call as not run."""
    with WRITE(os.path.join(JOB, name), "w") as f:
        f.write(DUMPS(data))


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(3)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)   # every result is written: do not wait for threads the submission left
