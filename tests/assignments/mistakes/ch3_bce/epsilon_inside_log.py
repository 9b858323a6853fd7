# "Add 1e-7 inside the log" to avoid log 0: a different loss everywhere, capped at 16 nats.
# expect: bce_with_logits 1.25, pos_weight 0.75

# %% bce_with_logits
def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    p = 1 if pos_weight is None else np.asarray(pos_weight)
    s = 1 / (1 + np.exp(-x))
    return np.mean(-(p * y * np.log(s + 1e-7) + (1 - y) * np.log(1 - s + 1e-7)))
