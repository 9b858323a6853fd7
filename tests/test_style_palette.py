"""The figure style's colours stay distinguishable under colour-vision deficiencies.

ce_lib.style promises that its colour cycle (Okabe & Ito) stays distinguishable for readers
with deuteranopia, protanopia or tritanopia. This checks the promise: it simulates each
deficiency with the matrices of Machado, Oliveira & Fernandes (2009, severity 1), applied to
linear RGB, converts to CIELAB (D65) and requires every pair of cycle colours to differ by
a CIE76 colour difference Delta E > MIN_DELTA_E. A palette that fails the promise (the red
and green of matplotlib's default cycle, for deuteranopes) is shown to fail.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from ce_lib import style  # noqa: E402

MIN_DELTA_E = 10.0   # about the difference of two colours that can be named apart at a glance

# Machado et al. (2009), Table 1, severity 1.0: linear RGB -> linear RGB as seen.
MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = {"normal vision": np.eye(3), **MACHADO_2009}

# linear sRGB -> CIE XYZ (D65), IEC 61966-2-1
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
WHITE_D65 = SRGB_TO_XYZ @ np.ones(3)


def hex_to_linear_rgb(colour: str) -> np.ndarray:
    srgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def linear_rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    t = (SRGB_TO_XYZ @ rgb) / WHITE_D65
    delta = 6 / 29
    f = np.where(t > delta**3, np.cbrt(t), t / (3 * delta**2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen_as_lab(colour: str, vision: str) -> np.ndarray:
    """CIELAB of the colour as a reader with this vision sees it (clipped to the gamut)."""
    seen = np.clip(VISIONS[vision] @ hex_to_linear_rgb(colour), 0.0, 1.0)
    return linear_rgb_to_lab(seen)


def closest_pair(colours: list[str], vision: str) -> tuple[float, str, str]:
    """The smallest Delta E (CIE76) between two of the colours, and which two."""
    lab = {c: seen_as_lab(c, vision) for c in colours}
    return min((float(np.linalg.norm(lab[a] - lab[b])), a, b)
               for a, b in itertools.combinations(colours, 2))


# --- the colour science itself ------------------------------------------------------------

@pytest.mark.parametrize("vision", MACHADO_2009)
def test_simulation_keeps_grey_grey(vision):
    # Machado's matrices map white to white (rows sum to 1), so greys are seen unchanged.
    np.testing.assert_allclose(MACHADO_2009[vision].sum(axis=1), 1.0, atol=2e-6)


def test_lab_of_reference_colours():
    np.testing.assert_allclose(linear_rgb_to_lab(np.ones(3)), [100, 0, 0], atol=1e-6)
    np.testing.assert_allclose(linear_rgb_to_lab(np.zeros(3)), [0, 0, 0], atol=1e-6)
    # sRGB red is L*a*b* (53.24, 80.09, 67.20)
    np.testing.assert_allclose(linear_rgb_to_lab(hex_to_linear_rgb("#FF0000")),
                               [53.24, 80.09, 67.20], atol=0.02)


def test_deuteranopia_confuses_red_and_green_more_than_blue_and_yellow():
    red_green = closest_pair(["#D62728", "#2CA02C"], "deuteranopia")[0]
    blue_yellow = closest_pair(["#1F77B4", "#F0E442"], "deuteranopia")[0]
    assert red_green < blue_yellow / 5


# --- the course palette --------------------------------------------------------------------

@pytest.mark.parametrize("vision", VISIONS)
def test_every_pair_of_cycle_colours_stays_distinguishable(vision):
    distance, a, b = closest_pair(style.CYCLE, vision)
    assert distance > MIN_DELTA_E, (
        f"with {vision}, style.CYCLE colours {a} and {b} differ by Delta E = {distance:.1f} "
        f"(need > {MIN_DELTA_E})")


@pytest.mark.parametrize("vision", VISIONS)
def test_the_named_colours_of_the_cycle_stay_distinguishable(vision):
    named = [c for c in style.COLORS.values() if c in style.CYCLE]
    assert len(named) == len(style.CYCLE)
    assert closest_pair(named, vision)[0] > MIN_DELTA_E


def test_a_red_green_palette_fails_for_deuteranopes():
    # matplotlib's default tab:red and tab:green: fine for most readers, not for deuteranopes
    bad = ["#D62728", "#2CA02C"]
    assert closest_pair(bad, "normal vision")[0] > MIN_DELTA_E
    distance, _, _ = closest_pair(bad, "deuteranopia")
    assert distance < MIN_DELTA_E, f"expected the red/green pair to fail, Delta E = {distance:.1f}"


def test_matplotlibs_default_cycle_would_fail_the_check():
    tab10 = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD",
             "#8C564B", "#E377C2", "#7F7F7F"]
    worst = min(closest_pair(tab10, vision)[0] for vision in MACHADO_2009)
    assert worst < MIN_DELTA_E
