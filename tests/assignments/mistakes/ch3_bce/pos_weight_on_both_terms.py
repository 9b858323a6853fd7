# pos_weight multiplies the whole loss, like an element weight, not just the positive term.
# expect: pos_weight 1

# %% bce_with_logits
def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    p = 1 if pos_weight is None else np.asarray(pos_weight)
    return np.mean(-p * (y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x)))
