# Default weights made with np.ones(C), float64: float32 logits give a float64 loss.
# expect: smoothed_cross_entropy 3.75

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, c = logits.shape
    w = np.ones(c) if weight is None else np.asarray(weight)
    neg_logp = -log_softmax(logits)
    nll = w[target] * neg_logp[np.arange(n), target]
    with np.errstate(invalid="ignore"):
        return np.sum((1 - eps) * nll + eps / c * (neg_logp @ w)) / np.sum(w[target])
