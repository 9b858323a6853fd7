# Correct values, but log_softmax shifts the caller's array in place (x -= max): whoever called
# it finds their logits changed. Only the checks that the arguments are left unchanged fail.
# expect: log_softmax 2.75
# status: mutated_input

# %% log_softmax
def log_softmax(x):
    x = np.asarray(x)
    x -= np.max(x, axis=-1, keepdims=True)
    return x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
