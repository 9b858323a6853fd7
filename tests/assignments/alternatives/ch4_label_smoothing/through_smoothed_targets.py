# Correct, written differently: the loss built from smoothed_targets, cast to the logits' dtype.

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    c = logits.shape[1]
    w = np.ones(c, dtype=logits.dtype) if weight is None else np.asarray(weight)
    q = smoothed_targets(target, c, eps).astype(logits.dtype)
    with np.errstate(invalid="ignore"):
        return -(w * q * log_softmax(logits)).sum() / w[target].sum()
