"""Re-execute notebooks in place, deterministically.

Usage: python tools/execute_notebooks.py [NOTEBOOK ...]
       (no arguments: every notebook under chapters/)

Each notebook runs top to bottom in a fresh kernel started from the notebook's own folder
(as nbval and a learner's Jupyter do), and its outputs are written back. Nothing else may
change: execution timings are not recorded (`record_timing=False`; `jupyter execute
--inplace` would write timestamps into every cell), and metadata that depends on the
machine or the editor is removed, so executing an unchanged notebook twice gives
byte-identical files and no git diff.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
CELL_TIMEOUT = 600  # seconds per cell

# Metadata written by editors and runners that changes from run to run or machine to machine.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "papermill", "collapsed", "scrolled")
VOLATILE_NOTEBOOK_METADATA = ("papermill", "widgets", "vscode", "colab", "toc", "interpreter")


class ThisPythonKernelSpecs(KernelSpecManager):
    """Run every notebook with the Python running this script (the course's .venv).

    A kernelspec named "python3" in the user's own Jupyter folders would otherwise win,
    and the notebooks would run in some other environment. nbval's --nbval-current-env
    does the same.
    """

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(
            resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
        )


def strip_volatile_metadata(nb: nbformat.NotebookNode) -> None:
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    # The patch version of Python differs between machines; the rest of language_info
    # (name, lexer) is what Jupyter Book needs for syntax highlighting.
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)


def execute(path: Path) -> bool:
    """Execute one notebook in place; return True if the file changed."""
    before = path.read_bytes()
    nb = nbformat.reads(before.decode("utf-8"), as_version=4)
    client = NotebookClient(
        nb,
        km=KernelManager(kernel_spec_manager=ThisPythonKernelSpecs()),
        timeout=CELL_TIMEOUT,
        record_timing=False,
        # One stream output per cell and stream: under load the kernel flushes stdout at
        # random moments, which would split the same text differently on every run.
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent)}},  # the kernel's working directory
    )
    client.execute()
    strip_volatile_metadata(nb)
    after = nbformat.writes(nb) + "\n"  # Jupyter's own on-disk format ends with a newline
    if after.encode("utf-8") == before:
        return False
    path.write_text(after, encoding="utf-8")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/**/*.ipynb")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted(
        p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    if not notebooks:
        print("no notebooks to execute", file=sys.stderr)
        return 1
    problems = [f"{path}: no such file" if not path.exists() else
                f"{path}: not a notebook (.ipynb)" for path in notebooks
                if not path.is_file() or path.suffix != ".ipynb"]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print("usage: ./course execute [NOTEBOOK.ipynb ...]   (no argument: every notebook "
              "under chapters/)", file=sys.stderr)
        return 2
    for path in notebooks:
        name = os.path.relpath(path)
        start = time.perf_counter()
        try:
            changed = execute(path.resolve())
        except CellExecutionError as error:
            print(f"{name}: a cell failed; the file was left unchanged\n{error}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - start
        state = "outputs updated" if changed else "unchanged"
        print(f"{name}: {state} ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
