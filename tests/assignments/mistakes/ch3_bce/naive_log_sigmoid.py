# log(1 / (1 + exp(-x))) as written: exp(1e4) overflows, sigma(-1e4) is 0 and its log -inf.
# expect: log_sigmoid 1.75, bce_with_logits 2.25, pos_weight 3.5

# %% log_sigmoid
def log_sigmoid(x):
    x = np.asarray(x)
    return np.log(1 / (1 + np.exp(-x)))
