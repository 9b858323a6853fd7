# Right values, wrong dtype: log_softmax converts its input to float64 (np.asarray(x,
# dtype=float)), so float32 logits give float64 log-probabilities and, through them, a float64
# loss. Only the dtype checks fail.
# expect: log_softmax 2.5, cross_entropy 2.5, weights_and_ignore 3.75

# %% log_softmax
def log_softmax(x):
    x = np.asarray(x, dtype=float)
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
