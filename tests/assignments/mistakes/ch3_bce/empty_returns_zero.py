# Divides by max(size, 1) "to be safe": an empty input gives 0 instead of nan.
# expect: bce_with_logits 2.75

# %% bce_with_logits
def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    p = 1 if pos_weight is None else np.asarray(pos_weight)
    loss = -(p * y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))
    return np.sum(loss) / max(loss.size, 1)
