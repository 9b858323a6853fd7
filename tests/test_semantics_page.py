"""The book's page "PyTorch's loss semantics" (semantics.md), re-checked against torch.

tools/verify_semantics.py holds one check per group of statements of the page (its CHECKS list);
the page names the check behind each statement in brackets, e.g. [nll_loss_empty_and_all_ignored].
Here every check runs as its own test, the way the script's main() runs it, and the page and the
script are kept in step: every name in brackets is a check, and every check is cited by the page.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "semantics.md"
SCRIPT = ROOT / "tools" / "verify_semantics.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("verify_semantics", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


verify_semantics = _load_script()
CHECKS = {fn.__name__: fn for fn in verify_semantics.CHECKS}

# A check's name in brackets, outside code: [snake_case_name] (not [0, C), [3] or `partial[j]`).
CITED = re.compile(r"\[([a-z][a-z0-9]*_[a-z0-9_]+)\]")
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(CHECKS))
def test_statement_holds_in_torch(name):
    # As main() runs it: inf/NaN expected. The checks draw from torch's global generator
    # (unseeded, or seeded by the check itself): fork it, so that other tests see no change.
    with torch.random.fork_rng(devices=[]), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div 'mean', deprecated reductions
        CHECKS[name]()


def test_check_names_unique():
    assert len(CHECKS) == len(verify_semantics.CHECKS)


def test_page_cites_exactly_the_checks():
    cited = set(CITED.findall(CODE_SPAN.sub("", _page())))
    unknown, uncited = sorted(cited - set(CHECKS)), sorted(set(CHECKS) - cited)
    assert not unknown, f"named in brackets on semantics.md but not checks: {unknown}"
    assert not uncited, f"checks that semantics.md does not cite: {uncited}"


def test_sections_are_numbered_and_labelled():
    """The docstrings of ce_lib and of the tests cite the page's sections 0-11 by number."""
    found = re.findall(r"^\(semantics-(\d+)\)=\n## (\d+)\. ", _page(), flags=re.M)
    assert [(int(a), int(b)) for a, b in found] == [(n, n) for n in range(12)]
