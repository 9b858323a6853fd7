# Forms sigma(x) and takes log(sigma) and log(1 - sigma) with no clamp: 1 - sigma(30) keeps only
# 3 digits, 1 - sigma(1e4) is exactly 0 and its log -inf. (torch's BCELoss on probabilities
# clamps each log at -100; BCE with logits needs no clamp, since it never forms sigma.)
# expect: bce_with_logits 2.25, pos_weight 3.5

# %% bce_with_logits
def bce_with_logits(x, y, pos_weight=None):
    x, y = np.asarray(x), np.asarray(y)
    p = 1 if pos_weight is None else np.asarray(pos_weight)
    s = np.exp(log_sigmoid(x))
    return np.mean(-(p * y * np.log(s) + (1 - y) * np.log(1 - s)))
