# Ignored examples leave the numerator but their (placeholder) weight w[0] stays in the denominator.
# expect: weights_and_ignore 1.25

# %% cross_entropy
def cross_entropy(logits, target, weight=None, ignore_index=-100):
    logits, target = np.asarray(logits), np.asarray(target)
    if weight is None:
        weight = np.ones(logits.shape[-1], dtype=logits.dtype)
    keep = target != ignore_index
    safe_t = np.where(keep, target, 0)
    picked = log_softmax(logits)[np.arange(len(target)), safe_t]
    w_t = weight[safe_t]
    return -np.sum(np.where(keep, w_t * picked, 0)) / np.sum(w_t)
