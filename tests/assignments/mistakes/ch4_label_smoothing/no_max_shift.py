# Its own log-softmax, without subtracting the row maximum: logits of 1e4 overflow.
# expect: smoothed_cross_entropy 3.25, class_weights 3.5

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, c = logits.shape
    w = np.ones(c, dtype=logits.dtype) if weight is None else np.asarray(weight)
    neg_logp = np.log(np.sum(np.exp(logits), axis=1, keepdims=True)) - logits
    nll = w[target] * neg_logp[np.arange(n), target]
    return np.sum((1 - eps) * nll + eps / c * (neg_logp @ w)) / np.sum(w[target])
