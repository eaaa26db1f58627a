"Hierarchical contrastive loss: against an independent NumPy implementation, gradients, blocks under a budget, invariances"
import numpy as np
import pytest
import torch
from reference import np_levels, np_instance, np_temporal
import hierts_tsai.losses as losses
from hierts_tsai.losses import (contrast, instance_contrastive_loss, temporal_contrastive_loss, level_loss, level_losses,
                                hierarchical_contrastive_loss, HierarchicalContrastiveLoss, block_for, _blocks,
                                levels_with_terms, terms, n_levels)

SHAPES = [(1, 3, 1), (2, 4, 1), (3, 5, 2), (4, 3, 7), (2, 6, 16), (5, 2, 13), (3, 4, 33)]

@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('alpha,tu', [(0.5, 0), (0.3, 1), (1.0, 0), (0.0, 2)])
@pytest.mark.parametrize('max_dense', ['auto', None, 40])
def test_against_numpy(shape, alpha, tu, max_dense):
    "every level, one level, the mean and both terms equal the NumPy reference, dense and in tiny blocks"
    g = torch.Generator().manual_seed(sum(shape))
    z1, z2 = torch.randn(*shape, generator=g, dtype=torch.float64), torch.randn(*shape, generator=g, dtype=torch.float64)
    ref = np_levels(z1.numpy(), z2.numpy(), alpha, tu)
    v = level_losses(z1, z2, alpha, tu, max_dense)
    assert v.shape == ref.shape
    np.testing.assert_allclose(v.numpy(), ref, rtol=0, atol=1e-6)
    if levels_with_terms(shape[-1], shape[0], alpha, tu):
        for k in range(len(ref)): np.testing.assert_allclose(level_loss(z1, z2, k, alpha, tu, max_dense).item(), ref[k], atol=1e-6)
        np.testing.assert_allclose(hierarchical_contrastive_loss(z1, z2, alpha, tu, max_dense).item(), ref.mean(), atol=1e-6)
    else:                                                     # every level's loss is a constant: nothing to train, wherever the loss is called
        assert (ref == 0).all()
        with pytest.raises(ValueError, match='no level of this batch has a loss term'): hierarchical_contrastive_loss(z1, z2, alpha, tu, max_dense)
        with pytest.raises(ValueError, match='no level of this batch has a loss term'): level_loss(z1, z2, 0, alpha, tu, max_dense)
        with pytest.raises(ValueError, match='no level of this batch has a loss term'): HierarchicalContrastiveLoss(alpha, tu).level((z1, z2), 0)
    np.testing.assert_allclose(instance_contrastive_loss(z1, z2).item(), np_instance(z1.numpy(), z2.numpy()), atol=1e-6)
    np.testing.assert_allclose(temporal_contrastive_loss(z1, z2).item(), np_temporal(z1.numpy(), z2.numpy()), atol=1e-6)

def test_gradcheck():
    z1 = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: hierarchical_contrastive_loss(a, b, 0.4), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: level_loss(a, b, 1), (z1, z2))
    # blockwise path: blocks on and above the diagonal, recomputed in backward; a last block of one row
    assert torch.autograd.gradcheck(lambda a, b: temporal_contrastive_loss(a, b, block=5), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: instance_contrastive_loss(a, b, block=2), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: hierarchical_contrastive_loss(a, b, max_dense=9), (z1, z2))

@pytest.mark.parametrize('T,block', [(7, 3), (64, 20), (300, 128), (301, 512), (5, 3), (10, 3)])
def test_blockwise_equals_dense_values_and_gradients(T, block):
    g = torch.Generator().manual_seed(T)
    z = torch.randn(4, 2 * T, 16, generator=g) * 0.5
    z1, z2 = z.clone().requires_grad_(), z.clone().requires_grad_()
    dense, blocked = contrast(z1), contrast(z2, block)
    torch.testing.assert_close(blocked, dense, rtol=1e-5, atol=0)
    dense.backward(); blocked.backward()
    torch.testing.assert_close(z2.grad, z1.grad, rtol=1e-5, atol=1e-7)

@pytest.mark.parametrize('max_dense', [1000, 2**14, 2**18])
def test_every_budget_gives_the_dense_loss(max_dense):
    "the budget changes how the matrices are computed, not the values or the gradients"
    z1 = torch.randn(2, 8, 600, requires_grad=True); z2 = torch.randn(2, 8, 600)
    a = level_losses(z1, z2, max_dense=None); a.mean().backward(); ga = z1.grad.clone(); z1.grad = None
    b = level_losses(z1, z2, max_dense=max_dense); b.mean().backward()
    torch.testing.assert_close(b, a, rtol=1e-5, atol=0)
    torch.testing.assert_close(z1.grad, ga, rtol=1e-5, atol=1e-7)

@pytest.mark.parametrize('groups,m,max_dense', [(8, 6000, 2**26), (8, 5000, 2**22), (1, 100, 500), (3000, 16, 2**20), (8, 99, 9000)])
def test_blocks_are_the_largest_that_fit(groups, m, max_dense):
    "each block holds at most `max_dense` elements, and one more row per block would not fit in fewer blocks"
    b = block_for(groups, m, max_dense)
    if groups * m * m <= max_dense: assert b is None; return
    edges = {(a, c) for a, c, _, _ in _blocks(m, b)}
    assert max(c - a for a, c in edges) == b and groups * b * b <= max_dense
    nb = -(-m // b)
    assert nb == 1 or groups * (-(-m // (nb - 1))) ** 2 > max_dense   # fewer blocks would exceed the budget

def test_batch_permutation_invariant():
    z1, z2 = torch.randn(6, 8, 20, dtype=torch.float64), torch.randn(6, 8, 20, dtype=torch.float64)
    p = torch.randperm(6)
    torch.testing.assert_close(hierarchical_contrastive_loss(z1[p], z2[p]), hierarchical_contrastive_loss(z1, z2))
    torch.testing.assert_close(level_losses(z1[p], z2[p]), level_losses(z1, z2))

def test_identical_views_beat_shuffled_timestamps():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 16, 32, generator=g)
    shuffled = z[..., torch.randperm(32, generator=g)]
    assert temporal_contrastive_loss(z, z) < temporal_contrastive_loss(z, shuffled)
    assert hierarchical_contrastive_loss(z, z) < hierarchical_contrastive_loss(z, shuffled)

def test_float16_inputs_give_float32_finite_loss():
    z1, z2 = (torch.randn(4, 8, 30) * 30).half(), (torch.randn(4, 8, 30) * 30).half()
    l = hierarchical_contrastive_loss(z1, z2)
    assert l.dtype == torch.float32 and torch.isfinite(l)
    torch.testing.assert_close(l, hierarchical_contrastive_loss(z1.float(), z2.float()))

def test_the_loss_object_keeps_no_state():
    "calling the loss, its levels or one level leaves the object as it was: it holds its configuration only"
    lf = HierarchicalContrastiveLoss(0.3, 1, 2**16)
    before = dict(vars(lf))
    z = (torch.randn(4, 8, 30), torch.randn(4, 8, 30))
    lf(z); lf.levels(z, skip=2); lf.level(z, 3)
    assert vars(lf) == before == dict(alpha=0.3, temporal_unit=1, max_dense=2**16, soft_temporal=None)

@pytest.mark.parametrize('args,msg', [
    ((torch.zeros(2, 3, 4), torch.zeros(2, 3, 5)), r'same shape.*\(2, 3, 4\) and \(2, 3, 5\)'),
    ((torch.zeros(3, 4), torch.zeros(3, 4)), r'3 dims.*\(3, 4\)'),
    ((torch.zeros(2, 3, 4, 1), torch.zeros(2, 3, 4, 1)), r'3 dims.*\(2, 3, 4, 1\)'),
    ((torch.zeros(2, 3, 0), torch.zeros(2, 3, 0)), r'time axis is empty.*\(2, 3, 0\)'),
    ((torch.zeros(2, 3, 4, dtype=torch.int64), torch.zeros(2, 3, 4, dtype=torch.int64)), r'floating dtype.*torch.int64'),
])
@pytest.mark.parametrize('fn', [hierarchical_contrastive_loss, level_losses, instance_contrastive_loss,
                                temporal_contrastive_loss, lambda a, b: level_loss(a, b, 0)])
def test_bad_input(args, msg, fn):
    with pytest.raises(ValueError, match=msg): fn(*args)

@pytest.mark.parametrize('budget,msg', [(0, 'max_dense must be a positive int'), (-3, r'got -3'), (1.5, 'got 1.5'),
                                        ('big', "got 'big'"), (2, 'max_dense=2 is too small')])
def test_bad_budget(budget, msg):
    z = torch.randn(4, 8, 30)
    with pytest.raises(ValueError, match=msg): hierarchical_contrastive_loss(z, z, max_dense=budget)

@pytest.mark.parametrize('shape,alpha,tu', [((1, 4, 9), 1.0, 0), ((1, 4, 1), 0.5, 0), ((3, 4, 1), 0.0, 0), ((2, 4, 6), 0.0, 3)])
def test_a_batch_without_any_term_is_a_clear_error(shape, alpha, tu):
    "one series and alpha=1, one timestamp and alpha<1 without a second series, temporal_unit beyond every level: nothing to train"
    z = torch.randn(*shape)
    assert levels_with_terms(shape[-1], shape[0], alpha, tu) == []
    with pytest.raises(ValueError, match=r'no level of this batch has a loss term to train \(batch of'):
        hierarchical_contrastive_loss(z, z.clone(), alpha, tu)
    with pytest.raises(ValueError, match='no level of this batch has a loss term'): HierarchicalContrastiveLoss(alpha, tu)((z, z.clone()))

@pytest.mark.parametrize('B,T,alpha,tu', [(1, 9, 0.5, 0), (4, 9, 1.0, 0), (4, 9, 0.0, 2), (2, 1, 0.5, 0), (4, 16, 0.3, 1)])
def test_levels_with_terms_are_the_levels_whose_loss_has_a_gradient(B, T, alpha, tu):
    z1 = torch.randn(B, 4, T, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(B, 4, T, dtype=torch.float64)
    has = []
    for k in range(n_levels(T)):
        l = level_loss(z1, z2, k, alpha, tu)
        g = torch.autograd.grad(l, z1, allow_unused=True)[0] if l.requires_grad else None
        has.append(g is not None and bool(g.abs().sum() > 0))
        assert has[-1] == any(terms(T >> k, B, k, alpha, tu)), k
    assert levels_with_terms(T, B, alpha, tu) == [k for k, h in enumerate(has) if h]

@pytest.mark.parametrize('T', [1, 7, 16, 33])
def test_capped_level_is_the_reference_codes_pooling(T):
    "the research side's `capped_level_loss`: levels the pyramid has are `level_loss`; deeper ones pool the whole series into one timestamp"
    from hierts_research.strategies import capped_level_loss
    g = torch.Generator().manual_seed(T)
    z1, z2 = torch.randn(3, 4, T, generator=g, dtype=torch.float64), torch.randn(3, 4, T, generator=g, dtype=torch.float64)
    for k in range(n_levels(T)): torch.testing.assert_close(capped_level_loss(z1, z2, k, 0.3), level_loss(z1, z2, k, 0.3))
    whole = 0.3 * np_instance(z1.amax(-1, keepdim=True).numpy(), z2.amax(-1, keepdim=True).numpy())
    for k in (n_levels(T), n_levels(T) + 3):
        np.testing.assert_allclose(capped_level_loss(z1, z2, k, 0.3).item(), whole, atol=1e-10)
    with pytest.raises(ValueError, match='level must be an int >= 0'): capped_level_loss(z1, z2, -1)
    with pytest.raises(ValueError, match=r'level must be an int in \[0, '): level_loss(z1, z2, n_levels(T))   # the library has no capped level

@pytest.mark.parametrize('alpha', [1.5, -0.1, True, 'half'])
def test_bad_alpha(alpha):
    z = torch.randn(4, 8, 30)
    with pytest.raises(ValueError, match=r'alpha must be a number in \[0, 1\]'): hierarchical_contrastive_loss(z, z, alpha)
    with pytest.raises(ValueError, match=r'alpha must be a number in \[0, 1\]'): HierarchicalContrastiveLoss(alpha)

def test_views_are_checked_once_per_loss_call(monkeypatch):
    "one `check_views` per call of a public loss, not one per level and term"
    calls, orig = [], losses.check_views
    monkeypatch.setattr(losses, 'check_views', lambda *a: (calls.append(1), orig(*a))[1])
    z = torch.randn(4, 8, 64)
    for f in (lambda: losses.hierarchical_contrastive_loss(z, z.clone()), lambda: losses.level_losses(z, z.clone()),
              lambda: losses.level_loss(z, z.clone(), 2), lambda: HierarchicalContrastiveLoss()((z, z.clone()))):
        calls.clear(); f(); assert len(calls) == 1

def np_soft_temporal(z1, z2, tau):
    "SoftCLT's temporal term from its definition, in NumPy: weights 2/(1+exp(tau·|t−t'|)) over the other 2T−1 timestamps"
    B, _, T = z1.shape
    total = 0.
    for b in range(B):
        z = np.concatenate([z1[b].T, z2[b].T])                                  # (2T, C)
        s = z @ z.T
        np.fill_diagonal(s, -np.inf)
        logp = s - np.log(np.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)) - s.max(1, keepdims=True)
        t = np.arange(2 * T) % T
        w = 2 / (1 + np.exp(tau * np.abs(t[:, None] - t[None])))
        w[w < 1e-6] = 0; np.fill_diagonal(w, 0)
        total += -(w * np.where(np.isfinite(logp), logp, 0)).sum()
    return total / (2 * B * T)

@pytest.mark.parametrize('shape', [(1, 3, 2), (3, 5, 7), (2, 4, 16)])
@pytest.mark.parametrize('tau', [0.1, 1., 3.])
def test_soft_temporal_against_numpy(shape, tau):
    "SoftCLT's soft temporal term equals its NumPy definition, and its gradient torch's numerical one; a level uses it in place of TS2Vec's"
    g = torch.Generator().manual_seed(sum(shape))
    z1, z2 = torch.randn(*shape, generator=g, dtype=torch.float64), torch.randn(*shape, generator=g, dtype=torch.float64)
    assert abs(losses.soft_temporal_loss(z1, z2, tau).item() - np_soft_temporal(z1.numpy(), z2.numpy(), tau)) < 1e-9
    z1.requires_grad_()
    assert torch.autograd.gradcheck(lambda a: losses.soft_temporal_loss(a, z2, tau), (z1,))
    lv = level_losses(z1.detach(), z2, 0.3, 0, soft_temporal=tau)
    ref = 0.3 * np_instance(z1.detach().numpy(), z2.numpy()) + 0.7 * np_soft_temporal(z1.detach().numpy(), z2.numpy(), tau)
    assert abs(lv[0].item() - ref) < 1e-9 and abs(level_loss(z1.detach(), z2, 0, 0.3, soft_temporal=tau).item() - ref) < 1e-9

def test_soft_temporal_trains_with_iars():
    "a learner with soft temporal targets pretrains under IARS (the level path) and its loss says so"
    from conftest import small_learner, quiet_fit
    from hierts_tsai.iars import IARS
    learn = quiet_fit(small_learner(soft_temporal=1., cbs=IARS()), 6)
    assert learn.loss_func.soft_temporal == 1. and 'soft_temporal=1.0' in repr(learn.loss_func)
    assert np.isfinite(learn.recorder.losses[-1].item())
    with pytest.raises(ValueError, match='soft_temporal must be None'): small_learner(soft_temporal=-1.)

def test_soft_temporal_at_deep_levels():
    "a τ the loss accepts stays usable at every level, where it grows as τ·2**level (capped where the targets are one-hot already)"
    z1, z2 = torch.randn(2, 4, 64, dtype=torch.float64), torch.randn(2, 4, 64, dtype=torch.float64)
    v = level_losses(z1, z2, soft_temporal=1e5)
    assert torch.isfinite(v).all()
    assert torch.allclose(v, level_losses(z1, z2), atol=1e-9)             # one-hot targets: TS2Vec's loss
