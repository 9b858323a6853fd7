# Default weights made with np.ones(C), float64: float32 logits give a float64 loss.
# expect: cross_entropy 2.5

# %% cross_entropy
def cross_entropy(logits, target, weight=None, ignore_index=-100):
    logits, target = np.asarray(logits), np.asarray(target)
    if weight is None:
        weight = np.ones(logits.shape[-1])
    keep = target != ignore_index
    t = target[keep]
    picked = log_softmax(logits[keep])[np.arange(len(t)), t]
    with np.errstate(invalid="ignore"):
        return -np.sum(weight[t] * picked) / np.sum(weight[t])
