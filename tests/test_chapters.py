"""The chapters keep their prose and their numbers together (README: "Claims are checks").

nbval proves that every stored output is current; these tests prove that the outputs are
checked at all: each chapter compares with PyTorch through ce_lib.checks.compare (which
asserts) rather than a helper of its own that might only print, and asserts the sentences
that read its results with ce_lib.checks.claim.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parent.parent / "chapters").glob("[0-9][0-9]_*.ipynb"))
# The pipeline check (00) has one sentence to back; the chapters have many.
MIN_CLAIMS = {"00_pipeline_check": 1}
MIN_CLAIMS_PER_CHAPTER = 5


def code_of(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def parsed(source: str) -> ast.Module:
    # IPython magics (%xmode) and shell escapes are not Python: blank those lines
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    return ast.parse("\n".join(lines))


def calls_to(tree: ast.AST, name: str) -> int:
    return sum(isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
               and node.func.id == name for node in ast.walk(tree))


def test_there_are_chapters():
    assert len(CHAPTERS) >= 8


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_uses_the_shared_checks_and_defines_none_of_its_own(notebook):
    trees = [parsed(source) for source in code_of(notebook)]
    imported = {alias.name for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "ce_lib.checks"
                for alias in node.names}
    assert {"claim", "compare"} & imported, f"{notebook.name} does not import ce_lib.checks"
    own = [node.name for tree in trees for node in ast.walk(tree)
           if isinstance(node, ast.FunctionDef) and node.name in {"compare", "claim"}]
    assert not own, f"{notebook.name} defines its own {own}: use ce_lib.checks"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_asserts_the_sentences_that_read_its_results(notebook):
    claims = sum(calls_to(parsed(source), "claim") for source in code_of(notebook))
    least = MIN_CLAIMS.get(notebook.stem, MIN_CLAIMS_PER_CHAPTER)
    assert claims >= least, f"{notebook.name}: {claims} claim(...) calls, expected >= {least}"
