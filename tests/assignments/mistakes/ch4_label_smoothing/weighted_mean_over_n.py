# The right weighted numerator, divided by N instead of by the sum of the targets' weights.
# expect: class_weights 1

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, c = logits.shape
    w = np.ones(c, dtype=logits.dtype) if weight is None else np.asarray(weight)
    neg_logp = -log_softmax(logits)
    nll = w[target] * neg_logp[np.arange(n), target]
    return np.mean((1 - eps) * nll + eps / c * (neg_logp @ w))
