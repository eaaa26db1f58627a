"IARS: selection math, determinism, the trained level, probes and modes"
import numpy as np
import pytest
import torch
from conftest import small_learner, quiet_fit
from hierts_tsai.iars import IARS, align_from_coarsest, iars_probs, level_at_depth, _mean_aligned
from hierts_tsai.losses import level_losses, level_loss, hierarchical_contrastive_loss, n_levels
import hierts_tsai.losses as losses

# ---- selection math on hand-made loss vectors --------------------------------------------------------------------
def test_alignment_with_different_level_counts():
    prev = [10., 9., 8., 7., 6., 5., 4.]    # 7 levels, finest first
    now = [3., 2., 1.]                      # 3 levels
    p, n = align_from_coarsest(prev, now)
    np.testing.assert_array_equal(p, [4., 5., 6.])    # coarsest first: same distance from the top
    np.testing.assert_array_equal(n, [1., 2., 3.])
    p, n = align_from_coarsest(now, prev)
    np.testing.assert_array_equal(p, [1., 2., 3.]); np.testing.assert_array_equal(n, [4., 5., 6.])

def test_softmax_of_a_delta():
    prev, now = [5., 4., 3., 2.], [1., 4.5, 1., 0.]
    delta = np.array([0. - 2., 1. - 3., 4.5 - 4., 1. - 5.])     # coarsest first
    for a in (0.1, 1., 3.):
        e = np.exp(a * delta)
        np.testing.assert_allclose(iars_probs(prev, now, a), e / e.sum(), rtol=1e-12)
    # the level whose loss rose the most gets the highest probability
    assert iars_probs(prev, now, 1.).argmax() == 2
    np.testing.assert_allclose(iars_probs(prev, now, 1e-9), np.full(4, .25), atol=1e-6)

def test_level_at_depth():
    assert [level_at_depth(d, 7) for d in range(9)] == [6, 5, 4, 3, 2, 1, 0, 0, 0]

def test_mean_aligned_from_coarsest():
    np.testing.assert_allclose(_mean_aligned([[6., 4., 2.], [3., 1.], [2.]]), [6., 3.5, 5 / 3])

@pytest.mark.parametrize('bad', [dict(mode='best'), dict(select_every='step'), dict(probe_every=0),
                                 dict(mode='fixed'), dict(mode='fixed', level=-1)])
def test_bad_arguments(bad):
    with pytest.raises(ValueError): IARS(**bad)

# ---- the callback in real (small) training --------------------------------------------------------------------------
def run(n=30, **kw):
    cb = IARS(**kw)
    learn = small_learner(cbs=cb)
    quiet_fit(learn, n)
    return learn, cb

def test_first_step_draws_uniformly_from_its_generator():
    "the first level is rng.integers(n_levels) from the callback's own seeded generator, for every seed"
    for seed in range(4):
        learn, cb = run(1, seed=seed)
        n = cb.history['n_levels'][0]
        assert cb.history['depth'][0] == np.random.default_rng(seed).integers(n)

def test_same_seed_same_levels_and_losses():
    a, cb_a = run(25)
    b, cb_b = run(25)
    assert cb_a.history['level'] == cb_b.history['level']
    assert cb_a.history['loss'] == cb_b.history['loss']
    c, cb_c = run(25, seed=123)
    assert cb_c.history['level'] != cb_a.history['level']

def test_trained_loss_is_the_chosen_entry_of_the_probe():
    learn, cb = run(20)
    h = cb.history
    for loss, lvl, v in zip(h['loss'], h['level'], h['vector']):
        assert v is not None and len(v) > lvl
        assert loss == pytest.approx(v[lvl], rel=1e-6)

def test_draws_follow_the_scores():
    "with a huge temperature the draw is the argmax of the aligned loss increase"
    learn, cb = run(12, a=1e6)
    h = cb.history
    for i in range(2, 12):
        prev, now = h['vector'][i - 2], h['vector'][i - 1]
        p_, n_ = align_from_coarsest(prev, now)
        expected_depth = int(np.argmax(n_ - p_))
        n = h['n_levels'][i]
        assert h['level'][i] == level_at_depth(expected_depth, n)

def test_full_mode_is_ts2vec():
    learn, cb = run(6, mode='full')
    h = cb.history
    assert all(l is None for l in h['level'])
    for loss, v in zip(h['loss'], h['vector']): assert loss == pytest.approx(np.mean(v), rel=1e-6)

def test_fixed_and_random_modes():
    _, cb = run(10, mode='fixed', level=2)
    assert set(cb.history['level']) == {2} and all(v is None for v in cb.history['vector'])
    _, cb = run(40, mode='random')
    assert len(set(cb.history['level'])) > 2

def test_probe_every_k():
    _, cb = run(12, probe_every=4)
    probed = [i for i, v in enumerate(cb.history['vector']) if v is not None]
    assert probed == [0, 4, 8]
    assert all(t == 0 for i, t in enumerate(cb.history['probe_s']) if i not in probed)

def test_select_every_epoch_keeps_one_level_per_epoch():
    learn, cb = run(25, select_every='epoch')   # BasicMotions, 40 series, bs 8: 5 steps an epoch
    h = cb.history
    for e in range(5):
        steps = range(5 * e, 5 * e + 5)
        # one drawn depth D per epoch; each crop trains the level at depth D (its finest if it has fewer levels)
        assert any(all(h['level'][i] == level_at_depth(D, h['n_levels'][i]) for i in steps) for D in range(12))
    assert cb.probs is not None

def test_probe_never_recomputes_the_trained_level(monkeypatch):
    calls = []
    orig = losses._level_loss
    monkeypatch.setattr(losses, '_level_loss', lambda z1, z2, level, *a: calls.append(level) or orig(z1, z2, level, *a))
    lf = losses.HierarchicalContrastiveLoss(); lf.level, lf.probe = 3, True
    z1, z2 = torch.randn(4, 8, 50), torch.randn(4, 8, 50)
    lf((z1, z2))
    assert sorted(calls) == list(range(n_levels(50)))

def test_gradient_reaches_the_encoder_only_through_the_trained_level():
    learn = small_learner()
    model, lf = learn.model.eval(), learn.loss_func      # eval: no dropout, so two forwards agree
    x = torch.randn(8, 6, 60)
    x1, x2, crop = x[..., :50], x[..., 10:], 40
    lf.level, lf.probe = 2, True
    lf(model(x1, x2, None, None, crop)).backward()
    g1 = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    level_loss(*model(x1, x2, None, None, crop), 2).backward()
    for a, b in zip(g1, [p.grad for p in model.parameters()]): torch.testing.assert_close(a, b)
    assert lf.vector is not None and len(lf.vector) == n_levels(crop)

def test_iars_with_a_tsai_arch_and_plot():
    from tsai.models.ResNetPlus import ResNetPlus
    cb = IARS()
    learn = small_learner(arch=ResNetPlus, arch_config={}, cbs=cb)
    quiet_fit(learn, 6)
    assert len(cb.history['level']) == 6 and np.isfinite(cb.history['loss']).all()
    import matplotlib; matplotlib.use('Agg')
    fig = cb.plot()
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) > 0

def test_iars_needs_the_hierarchical_loss():
    from tsai.data.core import get_ts_dls
    from fastai.learner import Learner
    import torch.nn as nn
    X = np.random.randn(16, 2, 20).astype('float32')
    learn = Learner(get_ts_dls(X, np.zeros(16), bs=8), nn.Conv1d(2, 2, 1), loss_func=nn.MSELoss(), cbs=IARS())
    with pytest.raises(ValueError, match='HierarchicalContrastiveLoss'): learn.fit(1)
