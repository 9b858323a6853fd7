"""ce_lib.checks: `compare` always asserts (shape, NaN pattern, tolerance); `claim` asserts."""
import numpy as np
import pytest
import torch

from ce_lib.checks import ClaimError, claim, compare


def test_compare_passes_and_prints_the_tolerance_not_the_difference(capsys):
    compare("loss", np.float64(0.5556), torch.tensor(0.5556 + 1e-14, dtype=torch.float64))
    out = capsys.readouterr().out
    assert out == "loss: ce_lib 0.5556, torch 0.5556; agree within 1e-12\n"


def test_compare_fails_beyond_the_tolerance():
    with pytest.raises(AssertionError, match="loss: ce_lib and torch disagree"):
        compare("loss", 1.0, 1.0 + 1e-9)


def test_compare_fails_on_different_shapes_even_when_broadcasting_would_agree():
    with pytest.raises(AssertionError, match=r"shape \(3,\) but torch has shape \(1,\)"):
        compare("grad", np.zeros(3), torch.zeros(1))


def test_compare_requires_nan_in_the_same_places():
    compare("nan rows", [np.nan, 1.0], torch.tensor([float("nan"), 1.0]))
    with pytest.raises(AssertionError, match="1 NaN mismatches"):
        compare("nan rows", [np.nan, 1.0], [0.0, 1.0])


def test_compare_treats_equal_infinities_as_equal_and_opposite_ones_as_different():
    compare("inf", [np.inf, -np.inf], [np.inf, -np.inf])
    with pytest.raises(AssertionError):
        compare("inf", [np.inf], [-np.inf])


def test_compare_accepts_float32_and_bfloat16_tensors_and_prints_large_arrays_by_shape(capsys):
    compare("bf16", torch.ones(8, dtype=torch.bfloat16), np.ones(8), tol=1e-3)
    assert "(arrays of shape (8,))" in capsys.readouterr().out


def test_compare_with_separate_rtol_and_atol():
    compare("rel", 1000.0, 1000.5, rtol=1e-3, atol=0.0)
    with pytest.raises(AssertionError, match="rtol 1e-04, atol 0e\\+00"):
        compare("rel", 1000.0, 1000.5, rtol=1e-4, atol=0.0)


def test_claim_passes_silently_and_fails_with_the_sentence(capsys):
    claim("two is larger than one", 2 > 1)
    assert capsys.readouterr().out == ""
    with pytest.raises(ClaimError, match="the text says 'one is larger than two'"):
        claim("one is larger than two", 1 > 2)


def test_claim_is_an_assertion_error_so_nbval_reports_it():
    assert issubclass(ClaimError, AssertionError)


def test_claim_refuses_an_array_of_truth_values():
    with pytest.raises(TypeError, match="np.all"):
        claim("every point is above the diagonal", np.array([True, False]))
    claim("every point is above the diagonal", np.all(np.array([True, True])))
    claim("a tensor truth value", torch.tensor(True))


def test_claim_needs_the_sentence():
    with pytest.raises(TypeError, match="statement"):
        claim(True, True)
