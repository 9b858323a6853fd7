# Normalises over the batch axis (axis 0) instead of over the classes (the last axis).
# expect: log_softmax 1, cross_entropy 1, weights_and_ignore 0.5

# %% log_softmax
def log_softmax(x):
    x = np.asarray(x)
    shifted = x - np.max(x, axis=0, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))
