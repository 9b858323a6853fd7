# log(1 / (1 + exp(-x))) as written: exp(1e4) overflows, sigma(-1e4) is 0 and its log -inf.
# expect: log_sigmoid 1, bce_with_logits 1, pos_weight 1

# %% log_sigmoid
def log_sigmoid(x):
    x = np.asarray(x)
    return np.log(1 / (1 + np.exp(-x)))
