# Sums over the first axis instead of the last: right for one distribution, wrong for a batch.
# expect: entropy 1

# %% entropy
def entropy(p, base=math.e):
    p = np.asarray(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -np.sum(terms, axis=0) / math.log(base)
