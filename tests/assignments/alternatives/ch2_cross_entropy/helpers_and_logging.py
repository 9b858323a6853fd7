# Correct, with helper functions of the student's own, a debugging print to stderr and a log
# line on every call: printing and logging never cost points.

# %% log_softmax
import logging
import sys

log = logging.getLogger("student")


def _row_max(x):
    return np.max(x, axis=-1, keepdims=True)


def log_softmax(x):
    x = np.asarray(x)
    print("log_softmax called on", x.shape, file=sys.stderr)
    shifted = x - _row_max(x)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))

# %% cross_entropy
def _weights(weight, n_classes, dtype):
    return np.ones(n_classes, dtype=dtype) if weight is None else np.asarray(weight)


def cross_entropy(logits, target, weight=None, ignore_index=-100):
    logits, target = np.asarray(logits), np.asarray(target)
    log.warning("cross_entropy on %s logits", logits.shape)
    w = _weights(weight, logits.shape[-1], logits.dtype)
    keep = target != ignore_index
    t = target[keep]
    picked = log_softmax(logits[keep])[np.arange(len(t)), t]
    w_t = w[t]
    with np.errstate(invalid="ignore"):
        return -np.sum(w_t * picked) / np.sum(w_t)
