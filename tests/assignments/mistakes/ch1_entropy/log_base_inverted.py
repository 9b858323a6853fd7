# Unit conversion upside down: multiplies by ln(base) instead of dividing (right in nats only).
# expect: entropy 3.25

# %% entropy
def entropy(p, base=math.e):
    p = np.asarray(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -np.sum(terms, axis=-1) * math.log(base)
