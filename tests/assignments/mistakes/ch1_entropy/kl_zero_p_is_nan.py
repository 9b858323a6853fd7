# KL without the 0 log(0 / q) = 0 convention: a zero in p gives nan.
# expect: kl_divergence 1.5

# %% kl_divergence
def kl_divergence(p, q, base=math.e):
    p, q = np.asarray(p), np.asarray(q)
    return np.sum(p * np.log(p / q), axis=-1) / math.log(base)
