# Each example's whole smoothed loss times the weight of its target class: the chapter's
# "plausible-looking alternative", not what PyTorch computes.
# expect: class_weights 1.5

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, c = logits.shape
    w = np.ones(c, dtype=logits.dtype) if weight is None else np.asarray(weight)
    neg_logp = -log_softmax(logits)
    per_example = (1 - eps) * neg_logp[np.arange(n), target] + eps / c * neg_logp.sum(axis=1)
    return np.sum(w[target] * per_example) / np.sum(w[target])
