"""The course's shared figure style: one palette, one size, labelled axes.

Every chapter starts its figures with::

    from ce_lib import style
    style.use()

and then picks colours by name (``style.COLORS["blue"]``) or lets the colour
cycle do it. The palette is Okabe and Ito's (2008), chosen because its eight
colours stay distinguishable under the common colour-vision deficiencies
(deuteranopia, protanopia, tritanopia) and in greyscale print.

This is the only module of ce_lib that needs matplotlib; ``import ce_lib``
does not import it.
"""
from __future__ import annotations

import matplotlib as mpl
from cycler import cycler

# Okabe & Ito, "Color Universal Design" (2008).
COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

# The order in which lines are coloured: strongest contrasts first.
CYCLE = [COLORS[name] for name in ("blue", "vermillion", "green", "orange", "purple", "sky", "black")]

# Axis-unit words, so that labels read the same in every chapter.
NATS = "nats"
BITS = "bits"

RC_PARAMS = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "figure.facecolor": "white",  # readable on the site's dark theme too
    "savefig.facecolor": "white",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "axes.prop_cycle": cycler(color=CYCLE),
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.alpha": 0.3,
    "lines.linewidth": 2.0,
    "legend.frameon": False,
    "image.cmap": "viridis",  # perceptually uniform and colour-blind safe
    "svg.hashsalt": "ce-course",  # deterministic SVG ids
}


def use() -> None:
    """Apply the course style to every figure drawn after this call."""
    mpl.rcParams.update(RC_PARAMS)
