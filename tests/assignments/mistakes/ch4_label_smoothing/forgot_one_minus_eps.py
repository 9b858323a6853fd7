# Adds eps / C to the one-hot target without taking eps away from the target class.
# expect: smoothed_targets 1, smoothed_cross_entropy 0.75, class_weights 1.5

# %% smoothed_targets
def smoothed_targets(target, num_classes, eps):
    return np.eye(num_classes)[np.asarray(target)] + eps / num_classes

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, c = logits.shape
    w = np.ones(c, dtype=logits.dtype) if weight is None else np.asarray(weight)
    neg_logp = -log_softmax(logits)
    nll = w[target] * neg_logp[np.arange(n), target]
    return np.sum(nll + eps / c * (neg_logp @ w)) / np.sum(w[target])
