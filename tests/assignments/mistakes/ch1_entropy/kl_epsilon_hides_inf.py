# "Add a small epsilon" against log 0: q = 0 where p > 0 gives a large finite number, not inf.
# expect: kl_divergence 3.5

# %% kl_divergence
def kl_divergence(p, q, base=math.e):
    p, q = np.asarray(p), np.asarray(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log((p + 1e-12) / (q + 1e-12)), 0.0)
    return np.sum(terms, axis=-1) / math.log(base)
