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

# Figure sizes. The site shows a figure at the column's width (about 620 px on a 1280 px laptop)
# and the PDF at the text width, so the size of the text a reader sees is the font size times
# column width / figure width. The fonts below are read at >= 12 px (the page's small print) on
# a figure up to MAX_WIDTH_IN wide: a wider figure makes its text smaller, so put at most two
# panels side by side (WIDE) and stack the rest (GRID).
FIGSIZE = (6.4, 4.0)        # one panel
WIDE = (7.5, 3.6)           # two panels side by side
GRID = (7.5, 6.6)           # 2 x 2 panels
MAX_WIDTH_IN = 7.5
DPI = 150                   # sharp on high-density screens, a few tens of kB per PNG

# The smallest text any figure draws (tick labels, legends, annotations), in points. Chapters
# do not pass a smaller fontsize; tests/test_style.py checks both this and the stored PNGs.
MIN_FONT_PT = 11
# The text a reader must be able to read at the figure's rendered width, in CSS px (the
# page's small print); tools/check_site.py checks the rendered figures against it.
MIN_TEXT_PX = 12
COLUMN_PX = 620             # the content column at 1280 px, the narrowest laptop layout

RC_PARAMS = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "figure.facecolor": "white",  # readable on the site's dark theme too
    "savefig.facecolor": "white",
    # constrained layout keeps titles, labels and legends of neighbouring panels apart
    "figure.constrained_layout.use": True,
    "font.size": 12,
    "axes.titlesize": 12.5,
    "axes.labelsize": 12,
    "figure.titlesize": 13,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "axes.prop_cycle": cycler(color=CYCLE),
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # room between the data and the frame, so no line is drawn along an axis
    "axes.xmargin": 0.03,
    "axes.ymargin": 0.08,
    "grid.alpha": 0.3,
    "lines.linewidth": 2.0,
    # a legend goes where it covers the least data, on a nearly opaque white box, so a line
    # that runs under it stays hidden instead of crossing its text
    "legend.loc": "best",
    "legend.frameon": True,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "0.85",
    "legend.fancybox": False,
    "image.cmap": "viridis",  # perceptually uniform and colour-blind safe
    "svg.hashsalt": "ce-course",  # deterministic SVG ids
}


def smallest_text_px(width_px: float, dpi: float, column_px: float = COLUMN_PX,
                     font_pt: float = MIN_FONT_PT) -> float:
    """Height in CSS px of font_pt text in a width_px-wide PNG drawn at dpi, once the page
    shows it at min(column_px, width_px) CSS px (an image is shrunk to fit, never enlarged).

    text_px = font_pt * dpi / 72 * min(column_px, width_px) / width_px
    """
    return font_pt * dpi / 72 * min(column_px, width_px) / width_px


def use() -> None:
    """Apply the course style to every figure drawn after this call."""
    mpl.rcParams.update(RC_PARAMS)
