# Correct, with a helper function of the student's own in the answer cell, a print and a warning
# when a distribution does not sum to 1: printing and warnings never cost points.

# %% entropy
import warnings


def _plogq(p, q):
    """p log q with 0 log q = 0, elementwise."""
    out = np.zeros(np.broadcast(p, q).shape)
    nz = p > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out[nz] = (p * np.log(q))[nz]
    return out


def entropy(p, base=math.e):
    p = np.asarray(p, dtype=float)
    print("entropy of", p.shape)
    if p.size and not np.allclose(p.sum(axis=-1), 1):
        warnings.warn("p does not sum to 1")
    return -np.sum(_plogq(p, p), axis=-1) / math.log(base)

# %% kl_divergence
def kl_divergence(p, q, base=math.e):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return np.sum(_plogq(p, p) - _plogq(p, q), axis=-1) / math.log(base)
