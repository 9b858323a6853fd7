# Sums each example's labels and averages over examples: divides by N, not by N * C elements.
# expect: bce_with_logits 1, pos_weight 0.5

# %% bce_with_logits
def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    p = 1 if pos_weight is None else np.asarray(pos_weight)
    loss = -(p * y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))
    return np.mean(np.sum(loss, axis=-1))
