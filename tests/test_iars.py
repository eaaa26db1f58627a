"IARS in real (small) training: draws, probes against independently computed losses, modes, candidates, bad probes"
import numpy as np
import pytest
import torch
from fastai.callback.core import Callback, CancelFitException
from conftest import small_learner, quiet_fit
from reference import np_levels
from hierts_tsai.iars import (IARS, choice_for, iars_probs, candidate_levels, level_for, AllLevels, FixedLevel, UniformLevel, Importance,
                              LevelChoice, Pick, STRATEGIES)
from hierts_research.strategies import ReferenceIARS, Lagging, capped_level_loss   # the research strategies: registers their names
from hierts_tsai.losses import level_loss, n_levels, HierarchicalContrastiveLoss
import hierts_tsai.losses as losses

class Views(Callback):
    "The pair of views `(z1, z2)` the loss receives at every training step, detached"
    order = 90
    def before_fit(self): self.seen = []
    def after_pred(self):
        if self.training: self.seen.append(tuple(z.detach().clone() for z in self.learn.pred))

def run(n=30, cbs=(), mode='iars', seed=None, **kw):
    "Fit a small learner `n` steps with `IARS` of the strategy `mode` built with `kw`"
    cb = IARS(choice_for(mode, **kw), seed=seed)
    learn = small_learner(cbs=[cb, *cbs])
    quiet_fit(learn, n)
    return learn, cb

def test_first_step_draws_uniformly_from_its_generator():
    "the first level is one of the crop's candidates, drawn with rng.integers from the callback's own seeded generator"
    for seed in range(4):
        v = Views()
        learn, cb = run(1, cbs=[v], seed=seed)
        z1 = v.seen[0][0]
        cands = candidate_levels(z1.shape[-1], z1.shape[0])
        assert cb.history['level'][0] == cands[-1 - np.random.default_rng(seed).integers(len(cands))]

def test_probe_vector_is_each_level_computed_on_its_own():
    "every entry of a probe vector equals `level_loss` at that level on the step's views, computed separately"
    v = Views()
    learn, cb = run(8, cbs=[v])
    for (z1, z2), vec, lvl in zip(v.seen, cb.history['vector'], cb.history['level']):
        cands = candidate_levels(z1.shape[-1], z1.shape[0])
        assert len(vec) == cands[-1] + 1 and lvl in cands
        for k in cands: assert vec[k] == pytest.approx(level_loss(z1, z2, k, max_dense=None).item(), rel=1e-5)

def test_full_mode_is_ts2vecs_loss_on_the_actual_views():
    "in 'full' mode the trained loss is the mean of all levels of the NumPy reference on the views of the batch"
    v = Views()
    learn, cb = run(4, cbs=[v], mode='full')
    for (z1, z2), loss in zip(v.seen, cb.history['loss']):
        assert loss == pytest.approx(np_levels(z1.double().numpy(), z2.double().numpy()).mean(), rel=1e-5)

def test_draws_follow_the_scores():
    "with a huge inverse temperature the trained level is the one whose loss rose the most, as the reference maps it"
    v = Views()
    learn, cb = run(12, cbs=[v], a=1e6)
    h = cb.history
    for i in range(2, 12):
        probs = iars_probs(h['vector'][i - 2], h['vector'][i - 1], 1e6)
        z1 = v.seen[i][0]
        expected = level_for(int(np.argmax(probs)), len(probs), candidate_levels(z1.shape[-1], z1.shape[0]), 'level')
        assert h['level'][i] == expected

def test_fixed_and_random_modes():
    _, cb = run(10, mode='fixed', level=2)
    h = cb.history                                      # level 2, or the coarsest level longer than 1 of a shorter crop
    assert h['level'] == [min(2, n - 2) for n in h['n_levels']] and 2 in h['level'] and all(v is None for v in h['vector'])
    _, cb = run(40, mode='random')
    assert len(set(cb.history['level'])) > 2

def test_probe_every_k():
    _, cb = run(12, probe_every=4)
    probed = [i for i, v in enumerate(cb.history['vector']) if v is not None]
    assert probed == [0, 4, 8]
    assert all(t == 0 for i, t in enumerate(cb.history['probe_s']) if i not in probed)

def test_select_every_epoch_keeps_one_draw_per_epoch():
    "BasicMotions, 40 series, bs 8: 5 steps an epoch; from the third epoch on, one drawn level per epoch (clamped per crop)"
    v = Views()
    learn, cb = run(25, cbs=[v], select_every='epoch')
    h = cb.history
    for e in range(2, 5):
        steps = range(5 * e, 5 * e + 5)
        def fits(level): return all(h['level'][i] == min(level, candidate_levels(v.seen[i][0].shape[-1], 8)[-1]) for i in steps)
        assert any(fits(l) for l in range(12)), [h['level'][i] for i in steps]
    assert cb.choice.probs is not None

def test_probe_never_recomputes_the_trained_level(monkeypatch):
    calls = []
    orig = losses._level_loss
    monkeypatch.setattr(losses, '_level_loss', lambda z1, z2, level, *a: calls.append(level) or orig(z1, z2, level, *a))
    v = Views()
    learn, cb = run(1, cbs=[v])
    z1 = v.seen[0][0]
    assert sorted(calls) == candidate_levels(z1.shape[-1], z1.shape[0])   # each candidate once, the trained one included

def test_gradient_reaches_the_encoder_only_through_the_trained_level():
    "a probe step's parameter gradients are those of `level_loss` at the trained level alone: the probe adds none"
    cb = IARS()                                     # mode 'iars', a probe every step
    learn = small_learner(cbs=cb)
    model = learn.model.eval()                      # eval: no dropout, so two forwards agree
    x = torch.randn(8, 6, 60)
    pred = model(x[..., :50], x[..., 10:], None, None, 40)
    cb.learn, cb.old_lf, cb.rng = learn, learn.loss_func, np.random.default_rng(0)
    learn.training = True
    cb.lf(pred).backward()
    level = cb.history['level'][-1]
    assert isinstance(cb._probe, torch.Tensor) and level is not None   # this step probed every candidate level (its vector, for after_batch)
    g1 = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    level_loss(*model(x[..., :50], x[..., 10:], None, None, 40), level).backward()
    for a, b in zip(g1, [p.grad for p in model.parameters()]): torch.testing.assert_close(a, b)

@pytest.mark.parametrize('mode', ['iars', 'random', 'fixed-0', 'fixed-coarsest', 'iars-p10', 'full', 'reference', 'lagging'])
@pytest.mark.parametrize('config', ['alpha=0', 'one series', 'temporal_unit=2, alpha=0', 'candidates=all'])
def test_every_mode_trains_50_iterations_and_draws_only_levels_with_a_gradient(mode, config):
    "the crashes of the first version (a length-1, instance-only level drawn with alpha=0 or one series) cannot happen"
    kw, X, extra = {}, None, {}
    if config == 'alpha=0': kw = dict(alpha=0.)
    if config == 'one series': X = np.random.default_rng(0).standard_normal((1, 2, 60)).astype(np.float32)
    if config == 'temporal_unit=2, alpha=0': kw = dict(alpha=0., temporal_unit=2)
    if config == 'candidates=all': extra = dict(candidates='all')
    capped = mode == 'reference'                  # the reference code's levels: any depth, pooled with a capped kernel
    v, cb = Views(), IARS(choice_for(mode, **({} if mode in ('full', 'reference') else extra)))   # these two have no candidates to choose
    learn = small_learner(X, cbs=[cb, v], **kw)
    quiet_fit(learn, 50)
    assert learn.train_iter == 50 and np.isfinite(cb.history['loss']).all()
    lf = learn.loss_func
    for (z1, z2), lvl in zip(v.seen, cb.history['level']):
        levels = range(n_levels(z1.shape[-1])) if lvl is None else [lvl]
        with torch.enable_grad():
            z = z1.clone().requires_grad_()
            loss = sum(capped_level_loss(z, z2, k, **lf.config) if capped else lf.level((z, z2), k) for k in levels)
        assert loss.requires_grad, (lvl, z1.shape)               # the trained loss has a gradient
        if lvl is not None and not capped:
            assert lvl in candidate_levels(z1.shape[-1], z1.shape[0], lf.alpha, lf.temporal_unit, extra.get('candidates', 'reference'))

def test_a_non_finite_probe_is_a_clear_error():
    class Poison(Callback):
        order = 1
        def after_pred(self):
            if self.training and self.iter == 2: self.learn.pred = (self.learn.pred[0] * float('nan'), self.learn.pred[1])
    with pytest.raises(ValueError, match=r'probe of training step 2 gave a non-finite loss at level\(s\) \[0, 1'):
        run(5, cbs=[Poison()])

def test_the_loss_is_restored_after_a_fit_a_cancel_and_an_error():
    class Stop(Callback):
        def after_batch(self):
            if self.iter == 1: raise CancelFitException()
    learn, cb = run(3)
    assert isinstance(learn.loss_func, HierarchicalContrastiveLoss) and cb.old_lf is None
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=Stop())
    assert isinstance(learn.loss_func, HierarchicalContrastiveLoss)
    class Boom(Callback):
        def after_batch(self): raise RuntimeError('boom')
    with pytest.raises(RuntimeError), learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=Boom())
    quiet_fit(learn, 2)                                         # a fit after an error works and restores the loss
    assert isinstance(learn.loss_func, HierarchicalContrastiveLoss)

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

def test_per_epoch_selection_warns_when_it_cannot_score():
    with pytest.warns(UserWarning, match='draws stay uniform'): run(10, select_every='epoch')    # 2 epochs of 5 steps

@pytest.mark.parametrize('bad', [dict(mode='best'), dict(select_every='step'), dict(probe_every=0), dict(mode='random', probe_every=3),
                                 dict(mode='fixed', level='middle'), dict(mode='fixed', level=-1), dict(mapping='kernel'),
                                 dict(a=float('nan')), dict(candidates='some'), dict(mode='full', a=1.), dict(mode=Importance(), a=1.),
                                 dict(mode=3)])
def test_bad_arguments(bad):
    with pytest.raises(ValueError): choice_for(bad.pop('mode', 'iars'), **bad)

def test_iars_takes_a_strategy_not_its_options():
    "one way to configure: the strategy's options go to the strategy (or `choice_for`), never through `IARS`"
    with pytest.raises(TypeError): IARS('iars', a=1.)
    assert IARS(Importance(a=1.)).choice.a == 1.

def test_mode_names_are_strategies():
    "each shorthand stands for its strategy with its arguments; a strategy instance is used as given"
    def choice(mode='iars', **kw): return IARS(choice_for(mode, **kw)).choice
    assert isinstance(choice('full'), AllLevels) and isinstance(choice('random'), UniformLevel)
    assert isinstance(choice('reference'), ReferenceIARS) and isinstance(choice('lagging'), Lagging)
    c = choice()
    assert isinstance(c, Importance) and (c.a, c.probe_every, c.mapping, c.select_every) == (0.1, 1, 'level', 'batch')
    assert choice('iars-p4').probe_every == 4 and choice(probe_every=4).probe_every == 4 and choice(a=2.).a == 2.
    assert choice(mapping='depth', candidates='all').mapping == 'depth' and choice(mapping='depth', candidates='all').candidates == 'all'
    assert choice('fixed').level == 0 and choice('fixed', level=2).level == 2 and choice('fixed-3').level == 3
    assert choice('fixed-finest').level == 0 and choice('fixed-coarsest').level == 'coarsest'
    mine = Importance(a=5.)
    assert choice(mine) is mine and IARS(mine).mode == 'Importance'
    assert IARS().describe().startswith('IARS(Importance(a=0.1, ') and IARS(FixedLevel(level=2)).describe() == "IARS(FixedLevel(level=2, candidates='reference'))"

def test_the_research_strategies_moved_out_of_the_library(monkeypatch):
    "without `hierts_research.strategies` registered, 'reference' and 'lagging' are an error that says where they are"
    for name in ('reference', 'lagging'):
        monkeypatch.delitem(STRATEGIES, name)
        with pytest.raises(ValueError, match=f"mode '{name}' .* moved to hierts_research.strategies"): IARS(name)
    import hierts_tsai.iars, hierts_tsai.losses
    assert not hasattr(hierts_tsai.iars, 'ReferenceIARS') and not hasattr(hierts_tsai.iars, 'Lagging')
    assert not hasattr(hierts_tsai.losses.HierarchicalContrastiveLoss, 'capped') and Pick._fields == ('level',)

class Deepest(LevelChoice):
    "Trains a level deeper than any crop, pooled with the reference's capped kernel (its own `loss`), and probes every step"
    probes = True
    def pick(self, T, B, lf, rng): return Pick(20)
    def probe_due(self, step): return True
    def loss(self, pred, level, lf): return capped_level_loss(*pred, level, **lf.config)

def test_a_strategys_own_loss_is_trained_and_not_reused_by_the_probe():
    "the `loss` hook: the step trains the strategy's loss; the probe computes every candidate itself"
    v = Views()
    learn, cb = run(4, cbs=[v], mode=Deepest())
    for (z1, z2), loss, vec in zip(v.seen, cb.history['loss'], cb.history['vector']):
        assert loss == pytest.approx(capped_level_loss(z1, z2, 20, max_dense=None).item(), rel=1e-5)
        cands = candidate_levels(z1.shape[-1], z1.shape[0])
        for k in cands: assert vec[k] == pytest.approx(level_loss(z1, z2, k, max_dense=None).item(), rel=1e-5)

def test_a_strategys_own_measure_replaces_the_probe_of_the_step():
    "the `measure` hook (`Lagging`): probes at its steps only, on the same fixed views, which its state carries"
    v = Views()
    learn, cb = run(12, cbs=[v], mode='lagging', probe_every=5)
    h = cb.history
    assert [i for i, x in enumerate(h['vector']) if x is not None] == [0, 5, 10]
    fixed = cb.choice.fixed
    assert fixed.x1.shape[0] == v.seen[0][0].shape[0] and fixed.x1.shape[-1] == fixed.crop_l and torch.equal(fixed.x1, fixed.x2)
    sd = cb.state_dict()
    again = IARS(Lagging(probe_every=5)); again.load_state_dict(sd)
    assert torch.equal(again.choice.fixed.x1, fixed.x1) and np.allclose(again.choice.probs, cb.choice.probs)
