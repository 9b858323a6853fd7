# Weighted losses averaged over the number of examples, not divided by the sum of their weights.
# expect: weights_and_ignore 2

# %% cross_entropy
def cross_entropy(logits, target, weight=None, ignore_index=-100):
    logits, target = np.asarray(logits), np.asarray(target)
    if weight is None:
        weight = np.ones(logits.shape[-1], dtype=logits.dtype)
    keep = target != ignore_index
    t = target[keep]
    picked = log_softmax(logits[keep])[np.arange(len(t)), t]
    return -np.mean(weight[t] * picked)
