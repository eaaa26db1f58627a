"""`ReferenceIARS` draws levels as the selection code of the IARS reference implementation does, on the same loss vectors
and crops: a small NumPy transcription of that code (GitHub KEEBVIN/IARS at commit a52b0b9, files `iars.py`,
`augments.py`, `losses.py`) against the strategy, driven through the `LevelChoice` API as the `IARS` callback drives it"""
import copy
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hierts_tsai.losses import HierarchicalContrastiveLoss
from hierts_research.strategies import ReferenceIARS

# ---- KEEBVIN/IARS at a52b0b9: the selection code, transcribed (NumPy only; names and statements as there) ----------

def shift_array_loss(loss_array, n_epoch=3, n_res=6):                  # augments.py:53-59
    loss_algined = np.zeros((n_epoch, n_res))
    loss_array_flip = np.flip(loss_array, axis=1)
    start_idx = np.sum(loss_array_flip == 0, axis=1)
    for i in range(n_epoch):
        loss_algined[i, 0:n_res - start_idx[i]] = loss_array_flip[i, start_idx[i]:]
    return loss_algined, start_idx

def filled_zero(loss_algined, n_epoch=3):                              # augments.py:70-73
    for i in range(1, n_epoch):
        loss_algined[i, loss_algined[i, :] == 0] = loss_algined[i - 1, loss_algined[i, :] == 0]
    return loss_algined

def pick(score_idx, score):                                            # augments.py:76-79
    correct_indx = (len(score) - 1) - score_idx
    return correct_indx

def pick_score(score, random=np.random):                               # augments.py:81-83 (`random`: the global generator there)
    x = random.multinomial(1, score, size=1)
    return np.where(x == 1)[1][0]

def softmax(x):                                                        # scipy.special.softmax(x), axis=None, as augments.py:88 calls it
    x_max = np.max(x, axis=None, keepdims=True)                        # (an empty `x` raises ValueError here, as in scipy)
    exp_x_shifted = np.exp(x - x_max)
    return exp_x_shifted / np.sum(exp_x_shifted, axis=None, keepdims=True)

def score_func(loss_algined, start_idx, epoch, a=0.1):                 # augments.py:87-88
    return softmax(a * (loss_algined[epoch, :-start_idx[epoch]] - loss_algined[epoch - 1, :-start_idx[epoch]]))

def select_res(loss_candid, random=np.random):                         # augments.py:118-125
    n_epoch, n_res = loss_candid.shape
    loss_aligned, start_idx = shift_array_loss(loss_candid, n_epoch=n_epoch, n_res=n_res)
    loss_aligned = filled_zero(loss_aligned, n_epoch=n_epoch)
    score = score_func(loss_aligned, start_idx, 1)
    res_idx_algn = pick_score(score, random)
    level_sampled = pick(res_idx_algn, score)
    return level_sampled

def select_res_probs(loss_candid):
    "`select_res` with its draw (`pick_score`) replaced by the draw's distribution: {level_sampled: probability}"
    n_epoch, n_res = loss_candid.shape
    loss_aligned, start_idx = shift_array_loss(loss_candid, n_epoch=n_epoch, n_res=n_res)
    loss_aligned = filled_zero(loss_aligned, n_epoch=n_epoch)
    score = score_func(loss_aligned, start_idx, 1)
    return {int(pick(j, score)): float(p) for j, p in enumerate(score) if p > 0}

def probe_vector(level_losses, l, series_T):
    """losses.py:37-61 (`loss`) called as iars.py:124 calls it, `res=ceil(log2(batch_part.shape[1]))`, on a crop of `l`
    timestamps: the bookkeeping of the per-level vector `S`, with the loss of level d given (`level_losses[d]`) instead of computed"""
    res = int(np.ceil(np.log2(series_T)))                              # iars.py:124
    w = np.ones((res)) / res                                           # losses.py:39-40
    d, length = 0, l
    S = np.zeros((res, 1))                                             # losses.py:44
    while length > 1:                                                  # losses.py:45
        S[d] = level_losses[d]                                         # losses.py:51
        d = d + 1                                                      # losses.py:54
        length = length // 2                                           # losses.py:55-56 (max_pool1d, kernel 2)
    if length == 1:                                                    # losses.py:58-59: the length-1 term reads w[d]
        w[d]
    return S

def reference_level_probs(series_T, crops, level_losses):
    """iars.py:97-98, 103-126: per training step, the distribution of `level_sampled` (drawn before the step's crop, then
    trained on it); `level_losses[i]`: the losses of step i's levels, finest first"""
    res = np.log2(series_T)                                            # iars.py:97 (x.shape[1]: the series' length)
    res = res.astype('int')                                            # iars.py:98
    loss_prev, loss_curr, out = None, [], []                           # iars.py:103-104
    for l, losses in zip(crops, level_losses):
        if loss_prev is not None:                                      # iars.py:109-111
            loss_candid = np.concatenate((loss_prev, loss_curr), axis=1).T
            out.append(select_res_probs(loss_candid))
        else: out.append({k: 1 / res for k in range(res)})             # iars.py:114: np.random.randint(0, res)
        loss_curr = probe_vector(losses, l, series_T)                  # iars.py:124
        loss_prev = np.copy(loss_curr)                                 # iars.py:126
    return out

def reference_kernel(level_sampled, l):
    "augments.py:99, 103-105: the pooling kernel `loss_selected_resolution` applies to views of `l` timestamps"
    choose_resolution = 2 ** level_sampled
    return int(np.minimum(choose_resolution, l))

# ---- ReferenceIARS's distribution, read off its one draw --------------------------------------------------------------

class OneDraw:
    "A stand-in generator for one draw: it returns outcome `j` and records the draw's probabilities over its outcomes"
    def __init__(self, j): self.j, self.p = j, []
    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        lo, hi = (0, low) if high is None else (low, high)
        n = int(hi - lo + bool(endpoint))
        assert size is None and n >= 1
        self.p.append(np.full(n, 1 / n))
        return lo + self.j
    def choice(self, a, size=None, replace=True, p=None):
        n = int(a) if np.ndim(a) == 0 else len(a)
        assert size is None
        self.p.append(np.full(n, 1 / n) if p is None else np.asarray(p, dtype=float))
        return self.j if np.ndim(a) == 0 else a[self.j]
    def __getattr__(self, name): raise AssertionError(f"ReferenceIARS.pick used rng.{name}: this test reads one integers() or choice() draw")

def strategy_level_probs(ref, T, B, lf):
    "The exact distribution of the level `ref.pick` returns for a crop of `T` timestamps: every outcome of its one draw, on copies"
    probe = OneDraw(0)
    copy.deepcopy(ref).pick(T, B, lf, probe)
    assert len(probe.p) == 1, f"ReferenceIARS.pick drew {len(probe.p)} times"
    out = {}
    for j in range(len(probe.p[0])):
        g = OneDraw(j)
        level = copy.deepcopy(ref).pick(T, B, lf, g).level
        assert len(g.p) == 1
        if g.p[0][j] > 0: out[level] = out.get(level, 0.) + float(g.p[0][j])
    return out

def assert_same_probs(got, want, where):
    assert sorted(got) == sorted(want), f"{where}: ReferenceIARS's levels {sorted(got)}, the reference's {sorted(want)}"
    np.testing.assert_allclose([got[k] for k in sorted(want)], [want[k] for k in sorted(want)], rtol=1e-12, atol=0, err_msg=where)

def drive(series_T, crops, level_losses, B=32, seed=0):
    """ReferenceIARS through the `LevelChoice` hooks in the `IARS` callback's order (`before_fit`; per step `pick`, then,
    since it probes every step, `update` with the probe: the losses of the crop's levels longer than 1, finest first;
    `after_batch`): per step, its exact level distribution and the level it drew from a real generator"""
    lf, rng = HierarchicalContrastiveLoss(), np.random.default_rng(seed)
    ref = ReferenceIARS()
    ref.before_fit(1, series_T)
    probs, drawn = [], []
    for step, (l, losses) in enumerate(zip(crops, level_losses)):
        assert ref.probe_due(step)
        probs.append(strategy_level_probs(ref, l, B, lf))
        drawn.append(ref.pick(l, B, lf, rng).level)
        ref.update(np.asarray(losses[:int(l).bit_length() - 1], dtype=float))   # levels 0 … ⌊log₂ l⌋−1: the levels longer than 1
        ref.after_batch(rng)
    return probs, drawn

# crops of different lengths, the shortest (2), the whole series, powers of two shorter than the series; series lengths
# of the reference's bundled sets too (AtrialFibrilation 640, StandWalkJump 2500) and a power of two (64, no whole crop)
SEQUENCES = {
    'T=100': (100, [50, 5, 100, 2, 3, 64, 17, 99, 32, 7, 8, 100]),
    'T=37': (37, [37, 2, 36, 16, 3, 33, 4]),
    'T=64': (64, [40, 63, 2, 32, 5, 16, 33, 4]),
    'T=640': (640, [640, 300, 2, 512, 129, 8, 639, 256]),
    'T=2500': (2500, [2500, 1024, 37, 2048, 4, 1500, 2499]),
}

def random_losses(series_T, n_steps, seed):
    "Loss vectors that move a lot between steps (live ΔL scores at the reference's a=0.1 would be far from uniform)"
    return np.random.default_rng(seed).uniform(0.1, 60., size=(n_steps, int(np.ceil(np.log2(series_T)))))

@pytest.mark.parametrize('name', list(SEQUENCES))
def test_reference_iars_draws_from_the_reference_codes_distribution(name):
    "at every step, ReferenceIARS's level distribution (its support and probabilities) is the reference code's on the same vectors and crops"
    series_T, crops = SEQUENCES[name]
    for seed in range(3):
        losses = random_losses(series_T, len(crops), seed)
        want = reference_level_probs(series_T, crops, losses)
        got, drawn = drive(series_T, crops, losses, seed=seed)
        for i, (g, w, d) in enumerate(zip(got, want, drawn)):
            where = f"{name}, seed {seed}, step {i} (crop {crops[i]}, previous crop {crops[i - 1] if i else None})"
            assert_same_probs(g, w, where)
            assert d in w, where
        # what the reference's rule is here: uniform over the previous crop's ⌊log₂ l⌋ levels longer than 1
        for i in range(1, len(crops)):
            assert want[i] == pytest.approx({k: 1 / int(np.log2(crops[i - 1])) for k in range(int(np.log2(crops[i - 1])))})
        # the transcription's own draw stays on that support
        rs = np.random.RandomState(seed)
        for i in range(1, len(crops)):
            S = probe_vector(losses[i - 1], crops[i - 1], series_T)
            assert all(select_res(np.concatenate((S, S), axis=1).T, rs) in want[i] for _ in range(20))

def test_a_drawn_level_is_pooled_with_the_reference_codes_capped_kernel():
    "ReferenceIARS's `loss` of each level it can draw pools the crop as `loss_selected_resolution` does: kernel min(2**level, l)"
    series_T, crops = SEQUENCES['T=100']
    lf, g = HierarchicalContrastiveLoss(), torch.Generator().manual_seed(0)
    probs, _ = drive(series_T, crops, random_losses(series_T, len(crops), 0), B=4)
    ref = ReferenceIARS()
    for l, p in zip(crops, probs):
        z1, z2 = (torch.randn(4, 3, l, generator=g, dtype=torch.float64) for _ in range(2))
        for level in p:
            k = reference_kernel(level, l)
            want = lf.level((F.max_pool1d(z1, k), F.max_pool1d(z2, k)), 0)    # alpha·instance + (1−alpha)·temporal, augments.py:111
            torch.testing.assert_close(ref.loss((z1, z2), level, lf), want, rtol=1e-10, atol=1e-12)

def test_a_whole_crop_of_a_power_of_two_series():
    """The reference's crash case: a crop as long as a series of 2**k timestamps. Its probe (`losses.loss`) reads
    w[k] of k weights (losses.py:59), and the next draw, were it reached, would softmax the empty slice `[:-0]`
    (augments.py:88). ReferenceIARS draws there uniformly over the crop's k levels longer than 1 (the notebook's
    differences table: "(inert case) uniform over its levels")"""
    series_T, crops = 64, [40, 64, 10, 64, 64, 2]
    losses = random_losses(series_T, len(crops), 0)
    with pytest.raises(IndexError): probe_vector(losses[1], 64, series_T)
    S = np.zeros((6, 1)); S[:, 0] = losses[1]                           # the vector, had the probe returned it
    with pytest.raises(ValueError, match='zero-size array'): select_res(np.concatenate((S, S), axis=1).T)
    got, drawn = drive(series_T, crops, losses)
    assert_same_probs(got[0], {k: 1 / 6 for k in range(6)}, 'first step')                       # iars.py:114: randint(0, 6)
    before = reference_level_probs(series_T, [40, 10], losses[:2])[1]    # the reference's step 1 draw: before its crop of 64 is probed
    assert_same_probs(got[1], before, 'after 40')
    for i in (2, 4, 5):                                                 # after a whole crop of 64: levels 0-5 (64 … 2), uniform
        assert_same_probs(got[i], {k: 1 / 6 for k in range(6)}, f'after a whole crop, step {i}')
    assert got[3] == pytest.approx({k: 1 / 3 for k in range(3)})      # after a crop of 10: levels 0-2 (10, 5, 2)
