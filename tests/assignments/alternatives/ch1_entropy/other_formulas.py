# Correct, written differently: nan_to_num for 0 log 0, log(p / q) for KL, np.log2-style units.

# %% entropy
def entropy(p, base=math.e):
    p = np.asarray(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.nan_to_num(p * np.log(p), nan=0.0)
    return -plogp.sum(axis=-1) / np.log(base).item()

# %% kl_divergence
def kl_divergence(p, q, base=math.e):
    p, q = np.asarray(p), np.asarray(q)
    total = np.zeros(p.shape[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        for x in range(p.shape[-1]):
            px, qx = p[..., x], q[..., x]
            total = total + np.where(px > 0, px * np.log(px / qx), 0.0)
    return total / math.log(base)
