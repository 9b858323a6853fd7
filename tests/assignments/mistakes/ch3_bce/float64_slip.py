# Right values, wrong dtype: log_sigmoid converts its input to float64, so float32 logits give
# float64 results everywhere. Only the dtype checks fail.
# expect: log_sigmoid 2.5, bce_with_logits 2.75, pos_weight 3.75

# %% log_sigmoid
def log_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
