# The stable form with np.log(1 + u) instead of np.log1p(u): log sigma(40) rounds to 0.
# expect: log_sigmoid 1.75

# %% log_sigmoid
def log_sigmoid(x):
    x = np.asarray(x)
    return np.minimum(x, 0) - np.log(1 + np.exp(-np.abs(x)))
