# The arguments swapped: computes KL(q || p) instead of KL(p || q).
# expect: kl_divergence 1

# %% kl_divergence
def kl_divergence(p, q, base=math.e):
    p, q = np.asarray(q), np.asarray(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    return np.sum(terms, axis=-1) / math.log(base)
