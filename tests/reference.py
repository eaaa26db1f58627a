"An independent NumPy implementation of TS2Vec's hierarchical contrastive loss, written from its definition (float64)"
import numpy as np

def np_contrast_pairs(a, b):
    "a, b: (N, D) positives row by row; mean over all 2N anchors of -log softmax over the other 2N-1 rows"
    z = np.concatenate([a, b], 0)
    N, total = len(a), 0.
    for i in range(2 * N):
        j_pos = i + N if i < N else i - N
        others = [j for j in range(2 * N) if j != i]
        logits = np.array([z[i] @ z[j] for j in others])
        m = logits.max()
        lse = m + np.log(np.exp(logits - m).sum())
        total += lse - logits[others.index(j_pos)]
    return total / (2 * N)

def np_instance(z1, z2):  # (B, D, T)
    B, D, T = z1.shape
    if B == 1: return 0.
    return np.mean([np_contrast_pairs(z1[:, :, t], z2[:, :, t]) for t in range(T)])

def np_temporal(z1, z2):
    B, D, T = z1.shape
    if T == 1: return 0.
    return np.mean([np_contrast_pairs(z1[b].T, z2[b].T) for b in range(B)])

def np_maxpool2(z):
    T = z.shape[-1] // 2
    return np.maximum(z[..., 0:2 * T:2], z[..., 1:2 * T:2])

def np_levels(z1, z2, alpha=0.5, temporal_unit=0):
    "Loss of every level of the pyramid, finest first"
    z1, z2 = np.asarray(z1, dtype=np.float64), np.asarray(z2, dtype=np.float64)
    out, d = [], 0
    while True:
        T = z1.shape[-1]
        l = alpha * np_instance(z1, z2)
        if T > 1 and d >= temporal_unit: l += (1 - alpha) * np_temporal(z1, z2)
        out.append(l)
        if T == 1: break
        z1, z2, d = np_maxpool2(z1), np_maxpool2(z2), d + 1
    return np.array(out)
