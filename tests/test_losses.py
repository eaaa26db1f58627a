"Hierarchical contrastive loss: against an independent NumPy implementation, gradients and invariances"
import numpy as np
import pytest
import torch
from hierts_tsai.losses import (contrast, instance_contrastive_loss, temporal_contrastive_loss, level_loss, level_losses,
                                hierarchical_contrastive_loss, HierarchicalContrastiveLoss)

# ---- an independent NumPy implementation, written from the definition ---------------------------------------
def np_contrast_pairs(a, b):
    "a, b: (N, D) positives row by row; mean over all 2N anchors of -log softmax over the other 2N-1 rows"
    z = np.concatenate([a, b], 0)
    N, total = len(a), 0.
    for i in range(2 * N):
        j_pos = i + N if i < N else i - N
        logits = np.array([z[i] @ z[j] for j in range(2 * N) if j != i])
        others = [j for j in range(2 * N) if j != i]
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
    out, d = [], 0
    while True:
        T = z1.shape[-1]
        l = alpha * np_instance(z1, z2)
        if T > 1 and d >= temporal_unit: l += (1 - alpha) * np_temporal(z1, z2)
        out.append(l)
        if T == 1: break
        z1, z2, d = np_maxpool2(z1), np_maxpool2(z2), d + 1
    return np.array(out)

SHAPES = [(1, 3, 1), (2, 4, 1), (3, 5, 2), (4, 3, 7), (2, 6, 16), (5, 2, 13), (3, 4, 33)]

@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('alpha,tu', [(0.5, 0), (0.3, 1), (1.0, 0), (0.0, 2)])
def test_against_numpy(shape, alpha, tu):
    g = torch.Generator().manual_seed(sum(shape))
    z1, z2 = torch.randn(*shape, generator=g, dtype=torch.float64), torch.randn(*shape, generator=g, dtype=torch.float64)
    ref = np_levels(z1.numpy(), z2.numpy(), alpha, tu)
    v = level_losses(z1, z2, alpha, tu)
    assert v.shape == ref.shape
    np.testing.assert_allclose(v.numpy(), ref, rtol=0, atol=1e-6)
    for k in range(len(ref)): np.testing.assert_allclose(level_loss(z1, z2, k, alpha, tu).item(), ref[k], atol=1e-6)
    np.testing.assert_allclose(hierarchical_contrastive_loss(z1, z2, alpha, tu).item(), ref.mean(), atol=1e-6)
    np.testing.assert_allclose(instance_contrastive_loss(z1, z2).item(), np_instance(z1.numpy(), z2.numpy()), atol=1e-6)
    np.testing.assert_allclose(temporal_contrastive_loss(z1, z2).item(), np_temporal(z1.numpy(), z2.numpy()), atol=1e-6)

def test_level_k_is_entry_k_and_mean():
    z1, z2 = torch.randn(4, 8, 45), torch.randn(4, 8, 45)
    v = level_losses(z1, z2)
    for k in range(len(v)): torch.testing.assert_close(level_loss(z1, z2, k), v[k])
    torch.testing.assert_close(hierarchical_contrastive_loss(z1, z2), v.mean())

def test_level_loss_is_successive_pools():
    "one max-pool of kernel 2**k equals k pools of kernel 2 (floor), so level_loss(k) matches the NumPy pyramid"
    z1, z2 = torch.randn(3, 4, 27, dtype=torch.float64), torch.randn(3, 4, 27, dtype=torch.float64)
    ref = np_levels(z1.numpy(), z2.numpy())
    np.testing.assert_allclose(level_loss(z1, z2, 3).item(), ref[3], atol=1e-6)

def test_gradcheck():
    z1 = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: hierarchical_contrastive_loss(a, b, 0.4), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: level_loss(a, b, 1), (z1, z2))
    # blockwise path: blocks on and above the diagonal, recomputed in backward
    assert torch.autograd.gradcheck(lambda a, b: temporal_contrastive_loss(a, b, block=5), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: instance_contrastive_loss(a, b, block=2), (z1, z2))

@pytest.mark.parametrize('T,block', [(7, 3), (64, 20), (300, 128), (301, 512)])
def test_blockwise_equals_dense_values_and_gradients(T, block):
    g = torch.Generator().manual_seed(T)
    z = torch.randn(4, 2 * T, 16, generator=g) * 0.5
    z1, z2 = z.clone().requires_grad_(), z.clone().requires_grad_()
    dense, blocked = contrast(z1), contrast(z2, block)
    torch.testing.assert_close(blocked, dense, rtol=1e-5, atol=0)
    dense.backward(); blocked.backward()
    torch.testing.assert_close(z2.grad, z1.grad, rtol=1e-5, atol=1e-7)

def test_level_losses_switch_to_blocks_above_max_dense():
    "max_dense=1 forces blocks of 256 rows at level 0 (2T=1200 rows): same values and gradients as all-dense"
    z1 = torch.randn(2, 8, 600, requires_grad=True); z2 = torch.randn(2, 8, 600)
    a = level_losses(z1, z2, max_dense=None); a.mean().backward(); ga = z1.grad.clone(); z1.grad = None
    b = level_losses(z1, z2, max_dense=1); b.mean().backward()
    torch.testing.assert_close(b, a, rtol=1e-5, atol=0)
    torch.testing.assert_close(z1.grad, ga, rtol=1e-5, atol=1e-8)

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

def test_loss_object_one_level_has_gradient_only_through_it():
    z1 = torch.randn(4, 8, 30, requires_grad=True); z2 = torch.randn(4, 8, 30)
    lf = HierarchicalContrastiveLoss(); lf.level, lf.probe = 1, True
    lf((z1, z2)).backward()
    g_obj = z1.grad.clone(); z1.grad = None
    level_loss(z1, z2, 1).backward()
    torch.testing.assert_close(g_obj, z1.grad)
    torch.testing.assert_close(lf.vector, level_losses(z1.detach(), z2))

def test_float16_inputs_give_float32_finite_loss():
    z1, z2 = (torch.randn(4, 8, 30) * 30).half(), (torch.randn(4, 8, 30) * 30).half()
    l = hierarchical_contrastive_loss(z1, z2)
    assert l.dtype == torch.float32 and torch.isfinite(l)
    torch.testing.assert_close(l, hierarchical_contrastive_loss(z1.float(), z2.float()))

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
