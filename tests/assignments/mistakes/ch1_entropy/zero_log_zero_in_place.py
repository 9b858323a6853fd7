# The 0 log 0 = 0 convention by replacing zeros with ones (1 log 1 = 0) in place, p[p == 0] = 1:
# right values, but the caller's probabilities are changed. Only the check that p is left
# unchanged fails.
# expect: entropy 4.75
# status: mutated_input

# %% entropy
def entropy(p, base=math.e):
    p = np.asarray(p)
    p[p == 0] = 1
    return -np.sum(p * np.log(p), axis=-1) / math.log(base)
