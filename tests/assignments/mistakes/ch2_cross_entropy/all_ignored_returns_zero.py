# "Guards" the empty case: returns 0 when every target is ignored (PyTorch returns nan).
# expect: weights_and_ignore 3

# %% cross_entropy
def cross_entropy(logits, target, weight=None, ignore_index=-100):
    logits, target = np.asarray(logits), np.asarray(target)
    if weight is None:
        weight = np.ones(logits.shape[-1], dtype=logits.dtype)
    keep = target != ignore_index
    if not keep.any():
        return np.zeros((), dtype=logits.dtype)
    t = target[keep]
    picked = log_softmax(logits[keep])[np.arange(len(t)), t]
    return -np.sum(weight[t] * picked) / np.sum(weight[t])
