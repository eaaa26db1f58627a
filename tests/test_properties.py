"Properties over random shapes (hypothesis): loss shapes and finiteness, aligned views, encode shapes, candidates and gradients"
import numpy as np
import torch
from hypothesis import given, settings, example, strategies as st, HealthCheck
import pytest
from hierts_tsai.losses import level_losses, level_loss, hierarchical_contrastive_loss, n_levels, levels_with_terms
from hierts_tsai.augment import random_crops, make_views, draw_views, crop_step
from hierts_tsai.encode import pool_repr, embed_windows
from hierts_tsai.encoder import TS2VecBackbone, ContrastiveModel
from hierts_tsai.iars import candidate_levels

dims = dict(B=st.integers(1, 6), C=st.integers(1, 12), T=st.integers(1, 80), seed=st.integers(0, 2**31 - 1))

@settings(max_examples=60, deadline=None)
@given(**dims, scale=st.sampled_from([1e-3, 1., 30.]), alpha=st.floats(0, 1), tu=st.integers(0, 3),
       budget=st.sampled_from(['auto', None, 2**12]))
@example(B=1, C=1, T=1, seed=0, scale=1e-3, alpha=0., tu=0, budget='auto')   # one series of one timestamp: no term anywhere
def test_loss_shapes_and_finite(B, C, T, seed, scale, alpha, tu, budget):
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(B, C, T, generator=g) * scale, torch.randn(B, C, T, generator=g) * scale
    budget = budget if budget is None or budget == 'auto' or budget >= T else None   # a budget must hold one row of each block
    v = level_losses(z1, z2, alpha, tu, budget)
    assert v.shape == (n_levels(T),) and torch.isfinite(v).all() and (v >= -1e-5).all()
    k = int(torch.randint(n_levels(T), (), generator=g))
    if not levels_with_terms(T, B, alpha, tu):                 # no level has a term (one series and alpha=1, ...): refused
        for f in (lambda: hierarchical_contrastive_loss(z1, z2, alpha, tu, budget), lambda: level_loss(z1, z2, k, alpha, tu, budget)):
            with pytest.raises(ValueError, match='no level of this batch has a loss term'): f()
        return
    torch.testing.assert_close(level_loss(z1, z2, k, alpha, tu, budget), v[k], rtol=1e-5, atol=1e-5)
    l = hierarchical_contrastive_loss(z1, z2, alpha, tu, budget)
    assert l.ndim == 0 and torch.isfinite(l)

@settings(max_examples=60, deadline=None)
@given(B=st.integers(1, 5), T=st.integers(1, 70), alpha=st.sampled_from([0., 0.3, 1.]), tu=st.integers(0, 3),
       candidates=st.sampled_from(['reference', 'all']), seed=st.integers(0, 1000))
@example(B=1, T=1, alpha=0., tu=0, candidates='reference', seed=0)
def test_candidates_are_exactly_the_levels_with_a_gradient(B, T, alpha, tu, candidates, seed):
    "a level is a candidate iff its loss moves with the views (and is longer than 1 unless candidates='all')"
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(B, 4, T, generator=g, dtype=torch.float64).requires_grad_()
    z2 = torch.randn(B, 4, T, generator=g, dtype=torch.float64)
    cands = candidate_levels(T, B, alpha, tu, candidates)
    if candidates == 'all': assert cands == levels_with_terms(T, B, alpha, tu)
    if not levels_with_terms(T, B, alpha, tu):                 # nothing to train: no candidate, and the loss says so
        assert not cands
        with pytest.raises(ValueError, match='no level of this batch has a loss term'): level_loss(z1, z2, 0, alpha, tu)
        return
    for k in range(n_levels(T)):
        loss = level_loss(z1, z2, k, alpha, tu)
        grad = torch.autograd.grad(loss, z1, allow_unused=True)[0] if loss.requires_grad else None
        has = grad is not None and bool(grad.abs().sum() > 0)
        longer = (T >> k) > 1
        assert (k in cands) == (has and (longer or candidates == 'all')), (k, cands, has, T >> k)

@settings(max_examples=150, deadline=None)
@given(**dims, tu=st.integers(0, 3), grid=st.booleans(), long=st.sampled_from([1, 40]))
def test_crop_views_stay_aligned(B, C, T, seed, tu, grid, long):
    "exact and grid crops: the overlap is the same time points of the same series in both views, every crop inside the series"
    T = max(T * long, 2 ** (tu + 1))                             # up to 3200 timestamps: grids of 1 to 256
    q = crop_step(T) if grid else 1
    c = random_crops(T, B, tu, np.random.default_rng(seed), step=q)
    assert 2 ** (tu + 1) <= c.crop_l <= T and 0 <= c.eleft <= c.left < c.right <= c.eright <= T
    assert (c.offsets >= -c.eleft).all() and (c.offsets + c.eright <= T).all()
    assert ((c.right - c.eleft) % q, (c.eright - c.left) % q) == (0, 0)  # both views' lengths on the grid
    t = torch.arange(T, dtype=torch.float64).expand(B, C, T) + 1000 * torch.arange(B, dtype=torch.float64)[:, None, None]
    x1, x2 = make_views(t, c)
    o1, o2 = x1[..., -c.crop_l:], x2[..., :c.crop_l]
    assert torch.equal(o1, o2)                                  # the same original time points ...
    start = torch.as_tensor(c.offsets + c.left, dtype=torch.float64) + 1000 * torch.arange(B)
    assert torch.equal(o1[:, 0, 0], start)                      # ... of the same series, where the crop says
    v = draw_views(t, np.random.default_rng(seed), tu, max_train_length=None, grid=grid)
    assert torch.equal(v.x1[..., -v.crop_l:], v.x2[..., :v.crop_l]) and v.x1.shape[-1] % q == v.x2.shape[-1] % q == 0

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(B=st.integers(1, 4), C=st.integers(1, 5), T=st.integers(1, 120), seed=st.integers(0, 1000),
       window=st.sampled_from(['full_series', None, 1, 4, 7, 'multiscale']))
def test_encode_shapes(B, C, T, seed, window):
    torch.manual_seed(seed)
    net = ContrastiveModel(TS2VecBackbone(C, hidden=8, depth=2, repr_dims=6), 6, 6).eval()
    x = torch.randn(B, C, T)
    with torch.no_grad():
        z = torch.cat(list(embed_windows(net, x, 16, net.backbone.receptive_field // 2)), -1)
        out = pool_repr(z, window)
        torch.testing.assert_close(z, net.embed(x), rtol=1e-5, atol=1e-5)  # windows with context: the whole series' output
    assert z.shape == (B, 6, T)
    if window == 'full_series': assert out.shape == (B, 6)
    elif window == 'multiscale':
        k = sum(1 for p in range(64) if (1 << p) + 1 < T)
        assert out.shape == (B, 6 * max(k, 1), T)
    else: assert out.shape == (B, 6, T)
    assert torch.isfinite(out).all()
