"""ce_lib.information: self-information, entropy, H(p, q) and KL between distributions.

Compared with torch where torch has the measure (Categorical.entropy, torch.special.xlogy,
torch.special.entr), and checked against the identities chapter 1 teaches.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distribution_pairs, distributions, logit_vectors, probability_vectors
from tolerances import assert_close

import ce_lib
from ce_lib import information

LN2 = math.log(2)


def xlogy(a, b):
    return torch.special.xlogy(
        torch.from_numpy(np.asarray(a)), torch.from_numpy(np.asarray(b))
    ).numpy()


# --------------------------------------------------------------------------
# the course brief's lotteries
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "bits", "places"),
    [
        ([0.25, 0.25, 0.25, 0.25], 2.0, 12),
        ([0.1, 0.1, 0.1, 0.7], 1.357, 3),
    ],
    ids=["fair 4-way", "0.7 favourite"],
)
def test_entropy_of_the_briefs_lotteries_in_bits(p, bits, places):
    mine = information.entropy(np.array(p), base=2)
    assert round(float(mine), places) == bits
    theirs = torch.distributions.Categorical(probs=torch.tensor(p, dtype=torch.float64)).entropy()
    assert_close(mine, theirs.numpy() / LN2)


def test_the_briefs_near_certain_lottery_sums_to_1_002_and_its_0_031_bits_is_the_raw_sum():
    """The brief's [0.001, 0.001, 0.001, 0.999] is not a distribution (it sums to 1.002): entropy()
    rejects it, and the brief's "about 0.031 bits" is -sum p log2 p of those raw numbers. Normalised
    (what torch's Categorical does) the lottery has about 0.034 bits, not 0.031."""
    p = np.array([0.001, 0.001, 0.001, 0.999])
    with pytest.raises(ValueError, match=r"\bp\b"):
        information.entropy(p, base=2)
    raw = float(np.sum(p * information.self_information(p, base=2)))
    assert round(raw, 3) == 0.031
    normalised = information.entropy(p / p.sum(), base=2)
    assert abs(float(normalised) - 0.031) > 0.002
    theirs = torch.distributions.Categorical(probs=torch.from_numpy(p)).entropy().numpy() / LN2
    assert_close(normalised, theirs)


# --------------------------------------------------------------------------
# against torch
# --------------------------------------------------------------------------
@given(p=distributions())
def test_entropy_matches_torch_categorical_entropy_in_nats(p):
    theirs = torch.distributions.Categorical(probs=torch.from_numpy(p)).entropy().numpy()
    assert_close(information.entropy(p), theirs)


@given(pq=distribution_pairs())
def test_cross_entropy_is_minus_sum_of_xlogy(pq):
    p, q = pq
    assert_close(information.cross_entropy(p, q), -xlogy(p, q).sum(-1))


@given(pq=distribution_pairs())
def test_kl_divergence_is_sum_of_xlogy_differences(pq):
    p, q = pq
    assert_close(information.kl_divergence(p, q), (xlogy(p, p) - xlogy(p, q)).sum(-1))


@given(p=probability_vectors())
def test_binary_entropy_matches_torch_entr(p):
    t = torch.from_numpy(p)
    theirs = (torch.special.entr(t) + torch.special.entr(1 - t)).numpy()
    assert_close(information.binary_entropy(p), theirs)


@given(p=probability_vectors())
def test_self_information_is_minus_log_p_and_inf_at_zero(p):
    mine = information.self_information(p)
    assert_close(mine, (-torch.log(torch.from_numpy(p))).numpy())
    assert (np.asarray(mine)[p == 0] == np.inf).all()


# --------------------------------------------------------------------------
# identities
# --------------------------------------------------------------------------
@given(pq=distribution_pairs(q_covers_p=True))
def test_cross_entropy_is_entropy_plus_kl(pq):
    p, q = pq
    lhs = information.cross_entropy(p, q)
    assert_close(lhs, np.asarray(information.entropy(p) + information.kl_divergence(p, q)))


@given(pq=distribution_pairs())
def test_gibbs_kl_is_non_negative_and_cross_entropy_at_least_entropy(pq):
    p, q = pq
    kl = np.asarray(information.kl_divergence(p, q))
    assert (kl >= -1e-12).all()
    assert (
        np.asarray(information.cross_entropy(p, q)) >= np.asarray(information.entropy(p)) - 1e-12
    ).all()


@given(p=distributions())
def test_kl_of_a_distribution_with_itself_is_zero(p):
    assert_close(information.kl_divergence(p, p), np.zeros(p.shape[:-1]))
    assert_close(information.cross_entropy(p, p), np.asarray(information.entropy(p)))


@pytest.mark.parametrize("base", [2, 10, 3.5])
@given(pq=distribution_pairs(q_covers_p=True))
def test_other_bases_are_nats_divided_by_ln_base(base, pq):
    p, q = pq
    for fn, args in (
        (information.entropy, (p,)),
        (information.cross_entropy, (p, q)),
        (information.kl_divergence, (p, q)),
        (information.binary_entropy, (p,)),
        (information.self_information, (p,)),
    ):
        nats = np.asarray(fn(*args))
        assert_close(fn(*args, base=base), nats / math.log(base), what=fn.__name__)


def test_zero_probability_terms_count_zero():
    assert information.entropy(np.array([1.0, 0.0, 0.0])) == 0
    assert information.entropy(np.array([0.5, 0.5, 0.0]), base=2) == pytest.approx(1.0, rel=1e-15)
    assert information.binary_entropy(np.array([0.0, 1.0])).tolist() == [0.0, 0.0]
    p, q = np.array([0.0, 0.5, 0.5]), np.array([0.0, 0.25, 0.75])
    assert np.isfinite(information.cross_entropy(p, q)) and np.isfinite(
        information.kl_divergence(p, q)
    )


def test_cross_entropy_and_kl_are_infinite_when_q_misses_an_outcome_of_p():
    p, q = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    assert information.cross_entropy(p, q) == np.inf
    assert information.kl_divergence(p, q) == np.inf


def test_fair_coin_has_one_bit_and_a_certain_event_no_surprise():
    assert information.binary_entropy(np.array(0.5), base=2) == pytest.approx(1.0, rel=1e-15)
    assert information.self_information(np.array(1.0)) == 0
    assert information.self_information(np.array(1e-6), base=2) == pytest.approx(
        math.log2(1e6), rel=1e-12
    )


def test_kl_is_not_symmetric():
    p, q = np.array([0.9, 0.1]), np.array([0.5, 0.5])
    assert information.kl_divergence(p, q) != pytest.approx(information.kl_divergence(q, p))


@given(p=distributions(min_dims=2))
def test_axis_selects_the_distribution_axis(p):
    moved = np.moveaxis(p, -1, 0)
    assert_close(information.entropy(moved, axis=0), np.asarray(information.entropy(p)))


@given(logits=logit_vectors(), data=st.data())
def test_loss_against_a_one_hot_target_is_the_cross_entropy_and_the_kl(logits, data):
    """Why minimising cross-entropy against a one-hot target is minimising KL (H(onehot) = 0)."""
    target = data.draw(st.integers(0, logits.size - 1))
    onehot = np.eye(logits.size)[target]
    q = np.asarray(ce_lib.softmax(logits, 0))
    loss = ce_lib.cross_entropy(logits, np.array(target))
    assert loss == pytest.approx(float(information.cross_entropy(onehot, q)), rel=1e-9, abs=1e-12)
    assert loss == pytest.approx(float(information.kl_divergence(onehot, q)), rel=1e-9, abs=1e-12)


def test_results_are_numpy_scalars_or_arrays():
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    for value in (
        information.entropy(p[0]),
        information.cross_entropy(p[0], p[1]),
        information.kl_divergence(p[0], p[1]),
        information.binary_entropy(0.3),
        information.self_information(0.3),
    ):
        assert isinstance(value, (np.generic, np.ndarray)) and type(value) is not float
    assert np.asarray(information.entropy(p)).shape == (2,)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
NOT_DISTRIBUTIONS = {
    "negative entry": np.array([0.6, 0.6, -0.2]),
    "sums to 0.9": np.array([0.3, 0.3, 0.3]),
    "sums to 1.1": np.array([0.5, 0.3, 0.3]),
    "one row off": np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.2]]),
}


@pytest.mark.parametrize("bad", NOT_DISTRIBUTIONS.values(), ids=NOT_DISTRIBUTIONS.keys())
def test_non_distributions_raise_value_error(bad):
    good = np.full(bad.shape, 1 / bad.shape[-1])
    with pytest.raises(ValueError, match=r"\bp\b"):
        information.entropy(bad)
    with pytest.raises(ValueError, match=r"\bp\b"):
        information.cross_entropy(bad, good)
    with pytest.raises(ValueError, match=r"\bq\b"):
        information.cross_entropy(good, bad)
    with pytest.raises(ValueError, match=r"\bp\b"):
        information.kl_divergence(bad, good)
    with pytest.raises(ValueError, match=r"\bq\b"):
        information.kl_divergence(good, bad)


def test_rows_summing_to_one_within_1e_minus_6_are_accepted():
    p = np.array([0.5, 0.5 + 5e-7])
    assert np.isfinite(information.entropy(p))
    assert np.isfinite(information.kl_divergence(p, p[::-1]))


def test_mismatched_shapes_raise_value_error():
    for fn in (information.cross_entropy, information.kl_divergence):
        with pytest.raises(ValueError, match="shape"):
            fn(np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5]))


@pytest.mark.parametrize("p", [-0.1, 1.5], ids=["negative", "above one"])
def test_probabilities_outside_zero_one_raise_value_error(p):
    with pytest.raises(ValueError):
        information.binary_entropy(np.array([0.3, p]))
    with pytest.raises(ValueError):
        information.self_information(np.array([0.3, p]))


FUNCTIONS = {  # each measure called on a valid argument, with extra keyword arguments
    "self_information": lambda **kw: information.self_information(np.array([0.25, 0.5]), **kw),
    "entropy": lambda **kw: information.entropy(np.array([0.25, 0.75]), **kw),
    "binary_entropy": lambda **kw: information.binary_entropy(np.array([0.25]), **kw),
    "cross_entropy": lambda **kw: information.cross_entropy([0.25, 0.75], [0.5, 0.5], **kw),
    "kl_divergence": lambda **kw: information.kl_divergence([0.25, 0.75], [0.5, 0.5], **kw),
}


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("base", [np.int64(2), np.float32(2.0), np.float64(2.0), 2])
def test_any_real_number_type_is_a_base(name, base):
    assert_close(FUNCTIONS[name](base=base), FUNCTIONS[name]() / math.log(2), what=name)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize(("base", "error"), [
    (float("nan"), ValueError), (float("inf"), ValueError), (0, ValueError), (-2, ValueError),
    (1, ValueError), (True, TypeError), ("2", TypeError), (None, TypeError)])
def test_a_base_that_is_not_a_positive_finite_number_other_than_one_raises(name, base, error):
    with pytest.raises(error, match="base"):
        FUNCTIONS[name](base=base)


@pytest.mark.parametrize("name", ["entropy", "cross_entropy", "kl_divergence"])
@pytest.mark.parametrize(("axis", "error"), [(5, IndexError), (-2, IndexError),
                                             (1.0, TypeError), (True, TypeError)])
def test_a_bad_axis_names_the_axis(name, axis, error):
    with pytest.raises(error, match="axis"):
        FUNCTIONS[name](axis=axis)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_integer_distributions_are_measured_in_float64(dtype):
    one_hot, uniform = np.array([0, 1, 0], dtype), np.full(3, 1 / 3)
    assert information.entropy(one_hot).dtype == np.float64
    assert information.entropy(one_hot) == 0.0
    assert information.cross_entropy(one_hot, uniform) == pytest.approx(math.log(3), rel=1e-15)
    assert information.kl_divergence(one_hot, uniform).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_distributions_keep_their_dtype(dtype):
    p = np.array([0.25, 0.75], dtype)
    for value in (information.entropy(p), information.cross_entropy(p, p),
                  information.kl_divergence(p, p), information.binary_entropy(p),
                  information.self_information(p)):
        assert value.dtype == dtype
