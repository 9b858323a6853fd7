# Weights the NLL term but sums the smoothing term over classes without their weights w_c.
# expect: class_weights 1.5

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, c = logits.shape
    w = np.ones(c, dtype=logits.dtype) if weight is None else np.asarray(weight)
    neg_logp = -log_softmax(logits)
    nll = w[target] * neg_logp[np.arange(n), target]
    smooth = neg_logp.sum(axis=1)
    return np.sum((1 - eps) * nll + eps / c * smooth) / np.sum(w[target])
