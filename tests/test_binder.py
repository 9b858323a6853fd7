"""Binder's environment (binder/) can run every chapter: it installs what they import.

Binder itself cannot run here (it builds a container from the repository on mybinder.org),
so these tests check what can drift: the versions pinned for Binder against
constraints.txt, the environment the chapters are executed and tested in, and the modules
the chapters import against the packages Binder installs.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"

# Top-level module imported by a chapter -> the distribution that provides it on Binder.
# ce_lib is this repository, installed by binder/postBuild.
PROVIDED_BY = {
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "torch": "torch",
    "myst_nb": "myst-nb",
    "threadpoolctl": "threadpoolctl",
    "ce_lib": "(postBuild)",
}


def pins(path: Path) -> dict[str, str]:
    """{distribution name: version} of the `name==version` lines of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def chapter_imports() -> dict[str, set[str]]:
    """{top-level module: chapters importing it} over the code cells of every chapter.

    A script a chapter writes with %%writefile counts too (it runs in the same environment),
    and the modules it writes (%%writefile name.py) are the chapter's own, not packages.
    """
    imports: dict[str, set[str]] = {}
    written: set[str] = set()
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            written.update(re.findall(r"^%%writefile(?:\s+-a)?\s+(\w+)\.py\s*$", source, re.M))
            lines = [line for line in source.splitlines() if not line.lstrip().startswith("%")]
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    imports.setdefault(name.split(".")[0], set()).add(notebook.name)
    return {module: chapters for module, chapters in imports.items() if module not in written}


def test_binder_pins_the_versions_of_constraints_txt():
    binder, constraints = pins(BINDER / "requirements.txt"), pins(ROOT / "constraints.txt")
    assert binder, "binder/requirements.txt pins nothing"
    for name, version in binder.items():
        public = version.split("+")[0]  # torch's CPU build: 2.13.0+cpu is 2.13.0
        assert constraints.get(name) == public, (
            f"binder/requirements.txt pins {name}=={version}, "
            f"constraints.txt {name}=={constraints.get(name)}"
        )


def test_binder_installs_every_module_the_chapters_import():
    binder = pins(BINDER / "requirements.txt")
    imports = chapter_imports()
    assert "ce_lib" in imports and "torch" in imports  # the parser found the imports
    for module, chapters in sorted(imports.items()):
        if module in sys.stdlib_module_names:
            continue
        assert module in PROVIDED_BY, (
            f"{', '.join(sorted(chapters))} import {module}: add the package that provides it "
            "to binder/requirements.txt and to PROVIDED_BY in this test"
        )
        package = PROVIDED_BY[module]
        if package != "(postBuild)":
            assert package in binder, f"binder/requirements.txt does not install {package}"


def test_binder_post_build_installs_ce_lib():
    post_build = BINDER / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    commands = [
        line for line in post_build.read_text().splitlines() if line and line[0] != "#"
    ]
    assert any(re.search(r"pip install .*\s\.$", line) for line in commands), commands
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
