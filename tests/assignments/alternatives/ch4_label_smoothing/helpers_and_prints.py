# Correct, with helper functions of the student's own in the answer cell, a print on stdout and
# a warning when eps is 0: printing and warnings never cost points.

# %% smoothed_cross_entropy
import warnings


def _class_weights(weight, n_classes, dtype):
    return np.ones(n_classes, dtype=dtype) if weight is None else np.asarray(weight)


def _weighted_terms(neg_logp, target, w):
    rows = np.arange(len(target))
    return w[target] * neg_logp[rows, target], neg_logp @ w


def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    print(f"smoothed_cross_entropy: {logits.shape}, eps = {eps}")
    if eps == 0:
        warnings.warn("eps = 0: plain cross-entropy")
    n_classes = logits.shape[-1]
    w = _class_weights(weight, n_classes, logits.dtype)
    nll, smooth = _weighted_terms(-log_softmax(logits), target, w)
    with np.errstate(invalid="ignore"):
        return np.sum((1 - eps) * nll + eps / n_classes * smooth) / np.sum(w[target])
