"""ce_lib.style: the shared figure style (the one module of ce_lib that needs matplotlib)."""

from __future__ import annotations

import re

import pytest

mpl = pytest.importorskip("matplotlib")
from ce_lib import style

# Okabe & Ito (2008), the colour-blind-safe palette the style promises
OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


def test_palette_is_okabe_ito():
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in style.COLORS.values())
    assert {c.upper() for c in style.COLORS.values()} <= OKABE_ITO


def test_use_sets_the_rc_params_and_the_colour_cycle():
    with mpl.rc_context():
        mpl.rcParams["axes.grid"] = not style.RC_PARAMS.get("axes.grid", True)
        style.use()
        for key, value in style.RC_PARAMS.items():
            assert mpl.rcParams[key] == mpl.RcParams({key: value})[key], key  # as validated
        cycle = [c.upper() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
        assert set(cycle) <= OKABE_ITO


def test_unit_words_name_nats_and_bits():
    assert style.NATS == "nats" and style.BITS == "bits"
