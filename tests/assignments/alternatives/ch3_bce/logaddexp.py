# Correct, written differently: log(1 + e^z) as np.logaddexp(0, z), and the form
# (1 - y) x - (1 + (p - 1) y) log sigma(x) that ce_lib uses.

# %% log_sigmoid
def log_sigmoid(x):
    return -np.logaddexp(0, -np.asarray(x))

# %% bce_with_logits
def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    factor = 1 if pos_weight is None else 1 + (np.asarray(pos_weight) - 1) * y
    return np.mean((1 - y) * x - factor * log_sigmoid(x))
