# Entropy without the 0 log 0 = 0 convention: a zero probability gives 0 * log 0 = nan.
# expect: entropy 2.25

# %% entropy
def entropy(p, base=math.e):
    p = np.asarray(p)
    return -np.sum(p * np.log(p), axis=-1) / math.log(base)
