"""Bad input (issue 19): nothing silent, nothing hanging, every error one of the package's own, raised where the input
enters; a hypothesis search over the loss's and encode's arguments"""
import contextlib, os, subprocess, sys, time, traceback
from pathlib import Path
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck
from conftest import SMALL, small_learner, quiet_fit
from tsai.data.core import get_ts_dls
from hierts_tsai.learner import ts2vec_learner
from hierts_tsai.iars import IARS
import hierts_research.strategies # registers the research strategies' names ('reference', 'lagging')
from hierts_tsai.losses import level_loss, level_losses, hierarchical_contrastive_loss, HierarchicalContrastiveLoss
from hierts_tsai.transfer import transfer_learner
from hierts_tsai.data import load_dataset, standardize

D = standardize(load_dataset())
rng = np.random.default_rng(0)
def series(n=12, c=2, T=40): return rng.standard_normal((n, c, T)).astype(np.float32)

def ours(e:BaseException)->bool:
    "Whether `e` is a ValueError raised by this package's own code (not one passed through from numpy, torch or sklearn)"
    return isinstance(e, ValueError) and 'hierts_tsai' in traceback.extract_tb(e.__traceback__)[-1].filename

@pytest.mark.parametrize('mode', ['full', 'iars', 'random', 'reference', 'lagging', 'fixed-0'])
def test_inf_is_refused_before_training_in_every_mode(mode):
    X = series(); X[4, 1, 7] = np.inf
    with pytest.raises(ValueError, match=r'±inf in 1 series \(indices \[4\]\)'): ts2vec_learner(X, cbs=IARS(mode), **SMALL)
    with pytest.raises(ValueError, match='±inf'): ts2vec_learner(get_ts_dls(X, bs=4), cbs=IARS(mode), **SMALL)

@pytest.mark.parametrize('cbs', [[], [IARS()], [IARS('full')]], ids=['no IARS', 'iars', 'full'])
def test_a_batch_without_a_loss_term_is_the_same_clear_error(cbs):
    "one series with alpha=1 (no negatives, no temporal term): the same message with or without IARS"
    with pytest.raises(ValueError, match='no level of this batch has a loss term to train') as e:
        quiet_fit(ts2vec_learner(series(n=1), alpha=1., cbs=cbs, **SMALL), 2)
    assert 'alpha=1.0' in str(e.value)

def test_labels_with_nan_are_refused_before_pretraining():
    y = np.array([0., 1.] * 6); y[3] = np.nan
    with pytest.raises(ValueError, match=r'1 NaN or infinite value\(s\) \(rows \[3\]\)'): ts2vec_learner(series(), y, **SMALL)

def test_unlabelled_dataloaders_into_transfer_learner(tmp_path):
    learn = quiet_fit(small_learner(), 2)
    p = learn.save_encoder(tmp_path / 'e.pth')
    with pytest.raises(ValueError, match='have no labels'): transfer_learner(get_ts_dls(D['X_train'], bs=8), p, arch_config=dict(depth=2, hidden=16, repr_dims=32))

@pytest.mark.parametrize('X,msg', [((D['X_test'], D['y_test']), r'looks like \(series, labels\)'), (np.zeros((3, 6)), 'X\\[:, None, :\\]'),
                                   (np.zeros((3, 2, 100)), 'trained on 6 channels but X has 2'), (np.full((2, 6, 100), np.inf), '±inf')])
def test_get_x_preds_and_encode_refuse_bad_series(X, msg):
    learn = small_learner()
    with pytest.raises(ValueError, match=msg): learn.get_X_preds(X)
    with pytest.raises(ValueError, match=msg): learn.encode(X)

def test_all_nan_series_do_not_hang_the_command_line(tmp_path):
    "an npz whose training set has a few series NaN everywhere: pretraining drops them, the SVM is bounded, the command ends"
    d = load_dataset()
    Xtr = d['X_train'].copy(); Xtr[[0, 5, 9]] = np.nan
    f = tmp_path / 'nan.npz'
    np.savez(f, X_train=Xtr, y_train=d['y_train'], X_test=d['X_test'], y_test=d['y_test'])
    t0 = time.perf_counter()
    p = subprocess.run([str(Path(sys.executable).with_name('hierts_pretrain')), '--data', str(f), '--iters', '10', '--repr-dims', '16', '--quiet',
                        '--out', str(tmp_path / 'e.pth')], capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'OMP_NUM_THREADS': '1'}, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert 'SVM accuracy' in p.stdout and time.perf_counter() - t0 < 300

# ---- hypothesis: every input works or raises one of the package's own errors -----------------------------------------
ANY = st.one_of(st.none(), st.booleans(), st.integers(-3, 70), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(['auto', 'x', '2']))

@settings(max_examples=150, deadline=None)
@given(B=st.integers(0, 4), C=st.integers(0, 5), T=st.integers(0, 40), dtype=st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bfloat16]),
       same=st.booleans(), alpha=ANY, tu=ANY, budget=ANY, level=ANY, skip=ANY, levels=ANY, nan=st.booleans())
def test_loss_arguments_work_or_raise_our_error(B, C, T, dtype, same, alpha, tu, budget, level, skip, levels, nan):
    z1 = torch.randn(B, C, T).to(dtype)
    z2 = z1.clone() if same else torch.randn(B, C, T + (0 if T % 2 else 1)).to(dtype)
    if nan and z1.numel() and z1.is_floating_point(): z1.view(-1)[0] = float('nan')
    for f in (lambda: level_losses(z1, z2, alpha, tu, budget, skip, levels), lambda: level_loss(z1, z2, level, alpha, tu, budget),
              lambda: hierarchical_contrastive_loss(z1, z2, alpha, tu, budget), lambda: HierarchicalContrastiveLoss(alpha, tu, budget)):
        try: f()
        except Exception as e: assert ours(e), f"{type(e).__name__} from outside the package: {e}"

@pytest.fixture(scope='module')
def enc():
    return quiet_fit(small_learner(), 3)

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(n=st.integers(0, 5), C=st.sampled_from([6, 6, 6, 2]), T=st.integers(0, 130), window=ANY, ew=st.one_of(ANY, st.just('full_series'), st.just('multiscale')),
       bs=ANY, dtype=st.sampled_from([np.float32, np.float64, np.int32, bool, object]), nan=st.sampled_from(['none', 'one', 'series', 'all']))
def test_encode_arguments_work_or_raise_our_error(enc, n, C, T, window, ew, bs, dtype, nan):
    X = np.random.default_rng(0).standard_normal((n, C, T)).astype(dtype if dtype is not object else np.float32)
    if dtype is object: X = X.astype(object)
    if X.dtype.kind == 'f' and X.size:
        if nan == 'one': X[0, 0, 0] = np.nan
        if nan == 'series': X[0] = np.nan
        if nan == 'all': X[:] = np.nan
    try: out = enc.encode(X, encoding_window=ew, bs=bs, window=window)
    except Exception as e:
        assert ours(e), f"{type(e).__name__} from outside the package: {e}"; return
    assert len(out) == n and out.dtype == np.float32

# ---- issue 26: fits that trained nothing, or NaN, without a word -------------------------------------------------------
from hierts_tsai.learner import pretrain

def one_series(T, nan=None):
    "One univariate series of `T` timestamps, NaN at the indices `nan`"
    X = np.random.default_rng(1).standard_normal((1, 1, T)).astype(np.float32)
    if nan is not None: X[..., nan] = np.nan
    return X

def finite_losses(learn, n):
    "The `n` training losses `learn` recorded, all finite, one per iteration"
    losses = np.array([float(v) for v in learn.recorder.losses])
    assert len(losses) == n and np.isfinite(losses).all(), losses
    assert np.isfinite(learn.recorder.values[-1][0])

def test_nan_prefix_sections_are_dropped_before_training():
    """one series of 182 with a NaN prefix of 170, max_train_length=16, alpha=0: 10 of its 11 sections are NaN everywhere.
    They stayed in the DataLoader, a batch of 8 of them was skipped, and the recorded loss was NaN, silently. As TS2Vec's `fit`,
    the sections NaN everywhere are now dropped before training: every iteration trains on the one section with data"""
    kw = dict(n_iters=4, max_train_length=16, seed=3, precision='float32', **SMALL)
    learn = pretrain(one_series(182, np.s_[:170]), alpha=0, **kw)
    assert len(learn.dls.train.dataset) == 1 and learn.dls.train.bs == 1
    finite_losses(learn, 4)
    with pytest.raises(ValueError, match=r'no level of this batch has a loss term to train \(batch of 1 series') as e:
        ts2vec_learner(one_series(182, np.s_[:170]), alpha=1., max_train_length=16, **SMALL)   # one section, no negatives: refused up front
    assert 'alpha=1.0' in str(e.value) and ours(e.value)
    control = pretrain(one_series(182), alpha=0, **kw)                                         # the same series without NaN: 11 sections
    assert len(control.dls.train.dataset) == 11
    finite_losses(control, 4)

def test_nan_sections_of_dataloaders_are_named():
    "DataLoaders are trained as given (sections are cut per batch): their sections NaN everywhere get a warning, not silence"
    with pytest.warns(UserWarning, match=r'10 of 11 sections of the training series \(11 per series, max_train_length=16\) are NaN everywhere'):
        ts2vec_learner(get_ts_dls(one_series(182, np.s_[:170]), bs=1), max_train_length=16, precision='float32', **SMALL)

def test_crops_longer_than_the_window_are_refused_before_training():
    """one series of 165 with a NaN suffix, max_train_length=16, temporal_unit=4: crops need 32 timestamps, windows have 16.
    fit_iters(2) recorded no loss and raised nothing; now the learner is refused before training, naming both settings"""
    Xb = one_series(165, np.s_[25:])
    for X in (Xb, get_ts_dls(Xb, bs=1)):
        with pytest.warns(UserWarning) if hasattr(X, 'train') else contextlib.nullcontext(): # the DataLoaders' sections NaN everywhere
            with pytest.raises(ValueError, match=r'max_train_length=16 is shorter than the crops temporal_unit=4 needs') as e:
                pretrain(X, n_iters=2, max_train_length=16, temporal_unit=4, **SMALL)
        assert 'give max_train_length >= 32, or temporal_unit <= 3' in str(e.value) and ours(e.value)
    with pytest.raises(ValueError, match='max_train_length=16 is shorter'): pretrain(one_series(165), n_iters=2, max_train_length=16, temporal_unit=4, **SMALL)
    with pytest.raises(ValueError, match=r'the training series have 20 timestamps.*give temporal_unit <= 3, or longer series'):
        ts2vec_learner(one_series(20), temporal_unit=4, max_train_length=None, **SMALL)
    kw = dict(n_iters=2, max_train_length=32, temporal_unit=4, seed=0, precision='float32', **SMALL)
    finite_losses(pretrain(one_series(165), **kw), 2)                                         # control: the window the message asks for
    finite_losses(pretrain(Xb, **kw), 2)                                                      # ... trains the NaN-suffixed series too
