# Spreads eps over the C - 1 other classes (the target keeps exactly 1 - eps): not PyTorch's rule.
# expect: smoothed_targets 1, smoothed_cross_entropy 0.75, class_weights 1.5

# %% smoothed_targets
def smoothed_targets(target, num_classes, eps):
    one_hot = np.eye(num_classes)[np.asarray(target)]
    return (1 - eps) * one_hot + eps / (num_classes - 1) * (1 - one_hot)

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, c = logits.shape
    w = np.ones(c, dtype=logits.dtype) if weight is None else np.asarray(weight)
    neg_logp = -log_softmax(logits)
    nll = w[target] * neg_logp[np.arange(n), target]
    others = neg_logp @ w - nll
    return np.sum((1 - eps) * nll + eps / (c - 1) * others) / np.sum(w[target])
