# Correct, with a helper function of the student's own in the answer cell, a debugging print to
# stderr, a log line and a warning on every call: printing, logging and warnings never cost
# points.

# %% log_sigmoid
import sys


def _softplus(z):
    """log(1 + e^z), stable: max(z, 0) + log1p(e^-|z|)."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def log_sigmoid(x):
    x = np.asarray(x)
    print("log_sigmoid on", x.shape, x.dtype, file=sys.stderr)
    return -_softplus(-x)

# %% bce_with_logits
import logging
import warnings

log = logging.getLogger("student")


def _positive_weight(pos_weight):
    return 1 if pos_weight is None else np.asarray(pos_weight)


def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    log.warning("bce_with_logits on %s logits", x.shape)
    if x.size == 0:
        warnings.warn("no elements: the mean is nan")
    p = _positive_weight(pos_weight)
    loss = -(p * y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.mean(loss)
