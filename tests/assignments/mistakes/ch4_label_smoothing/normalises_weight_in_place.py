# Right values, but the class weights are normalised in place (w /= w.sum()), which leaves the
# weighted mean as it was and changes the caller's weight array. Only the check that the
# arguments are left unchanged fails.
# expect: class_weights 3.75
# status: mutated_input

# %% smoothed_cross_entropy
def smoothed_cross_entropy(logits, target, eps, weight=None):
    logits, target = np.asarray(logits), np.asarray(target)
    n, n_classes = logits.shape
    w = np.ones(n_classes, dtype=logits.dtype) if weight is None else np.asarray(weight)
    w /= w.sum()                                   # "normalise the weights first"
    neg_logp = -log_softmax(logits)
    nll = w[target] * neg_logp[np.arange(n), target]
    smooth = neg_logp @ w
    with np.errstate(invalid="ignore"):
        return np.sum((1 - eps) * nll + eps / n_classes * smooth) / np.sum(w[target])
