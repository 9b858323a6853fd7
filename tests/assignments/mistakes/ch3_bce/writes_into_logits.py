# Right values, but log_sigmoid reuses its argument's memory for -|x| (np.abs(x, out=x)) to save
# an array: whoever called it finds their logits changed. (bce_with_logits calls
# log_sigmoid(-x) before log_sigmoid(x), so its own values stay right.) Only the checks that
# the arguments are left unchanged fail.
# expect: log_sigmoid 2.75, bce_with_logits 2.75, pos_weight 3.75
# status: mutated_input

# %% log_sigmoid
def log_sigmoid(x):
    x = np.asarray(x)
    head = np.minimum(x, 0)
    np.abs(x, out=x)
    np.negative(x, out=x)
    return head - np.log1p(np.exp(x))

# %% bce_with_logits
def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    p = 1 if pos_weight is None else np.asarray(pos_weight)
    loss = -((1 - y) * log_sigmoid(-x) + p * y * log_sigmoid(x))
    return np.mean(loss)
