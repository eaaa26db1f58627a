"Pretraining learner: accuracy, fastai integration, encode, save_encoder, data preparation, bad input"
import warnings
import numpy as np
import pytest
import torch
from conftest import shared_npz, small_learner, quiet_fit, SMALL
from tsai.data.core import get_ts_dls
from tsai.data.preprocessing import TSClassification
from hierts_tsai.learner import ts2vec_learner, pool_repr, default_n_iters, _train_series
from hierts_tsai.data import standardize, load_dataset
from hierts_tsai.evaluate import eval_classification
from hierts_tsai.encoder import TS2VecEncoder

@pytest.mark.slow
def test_basicmotions_accuracy_matches_ts2vec():
    "TS2Vec's protocol: 200 iterations, batch 8, 320 dims, SVM on max-pooled representations; TS2Vec reports 0.975"
    d = standardize(shared_npz('BasicMotions'))
    accs = []
    for seed in (0, 1, 2):
        learn = ts2vec_learner(get_ts_dls(d['X_train'], bs=8), seed=seed)
        with learn.no_bar(), learn.no_logging(): learn.fit_iters()
        assert learn.train_iter == 200
        r = eval_classification(learn.encode(d['X_train']), d['y_train'], learn.encode(d['X_test']), d['y_test'])
        accs.append(r['acc'])
    assert np.mean(accs) >= 0.95, accs

def test_default_iterations_rule():
    assert default_n_iters(40 * 6 * 100) == 200 and default_n_iters(12 * 4 * 2500) == 600

def test_labelled_dls_fit_one_cycle_lr_find_and_callbacks():
    d = standardize(load_dataset())
    from fastai.callback.tracker import SaveModelCallback
    dls = get_ts_dls(d['X_train'], d['y_train'], splits=(list(range(32)), list(range(32, 40))), tfms=[None, TSClassification()], bs=8)
    learn = ts2vec_learner(dls, seed=0, **SMALL)
    with learn.no_bar(), learn.no_logging():
        learn.lr_find(num_it=8, show_plot=False)
        assert learn.swa_model is None or learn.swa_model.n_averaged.item() <= 1   # lr_find leaves no trace in the average
        learn.fit_one_cycle(2, 1e-3)
    assert len(learn.recorder.values) == 2
    train_loss, valid_loss = learn.recorder.values[-1][:2]
    assert np.isfinite(train_loss) and np.isfinite(valid_loss)
    assert learn.swa_model.n_averaged.item() == 1 + 2 * 4      # initial weights + one per step

def test_fit_iters_counts_iterations_exactly():
    learn = quiet_fit(small_learner(), 13)       # 5 batches an epoch: stops inside the 3rd epoch
    assert learn.train_iter == 13 and learn.swa_model.n_averaged.item() == 14

def test_loss_decreases():
    learn = quiet_fit(small_learner(), 60)
    l = learn.recorder.losses
    assert np.mean([float(o) for o in l[-10:]]) < np.mean([float(o) for o in l[:10]])

def test_encode_shapes_eval_mode_and_swa():
    d = standardize(load_dataset())
    learn = quiet_fit(small_learner(), 10)
    X = d['X_test'][:5]
    full = learn.encode(X)
    assert full.shape == (5, 32) and full.dtype == np.float32
    learn.swa_model.module.train()
    np.testing.assert_allclose(full, learn.encode(X, bs=2), rtol=1e-5, atol=1e-6)  # eval mode: no dropout, no mask
    assert learn.swa_model.module.training                                     # ... and the mode is restored
    assert learn.encode(X, encoding_window=None).shape == (5, 32, 100)
    assert learn.encode(X, encoding_window=7).shape == (5, 32, 100)
    assert learn.encode(X, encoding_window='multiscale').shape == (5, 32 * 7, 100)   # windows 3, 5, 9, ..., 65
    np.testing.assert_allclose(full, learn.encode(X, encoding_window=None).max(-1), rtol=1e-6)
    assert not np.allclose(full, learn.encode(X, swa=False))                   # the average is not the last weights
    long = np.tile(X, (1, 1, 30))                                               # 3000 timestamps, far longer than any crop
    assert learn.encode(long).shape == (5, 32)

def test_save_encoder_reloads_in_ts_learner(tmp_path):
    from tsai.learner import ts_learner
    d = standardize(load_dataset())
    learn = quiet_fit(small_learner(), 5)
    path = learn.save_encoder(tmp_path / 'enc.pth')
    dls = get_ts_dls(d['X_train'], d['y_train'], tfms=[None, TSClassification()], bs=8)
    clf = ts_learner(dls, TS2VecEncoder, arch_config=dict(depth=2, hidden=16, repr_dims=32), pretrained=True, weights_path=path)
    src = learn.swa_model.module.backbone.state_dict()
    for k, v in clf.model.backbone.state_dict().items(): torch.testing.assert_close(v.cpu(), src[k])

def test_tsai_archs_pretrain_and_encode():
    from tsai.models.InceptionTimePlus import InceptionTimePlus
    from tsai.models.XCMPlus import XCMPlus
    for arch in (InceptionTimePlus, XCMPlus):
        learn = quiet_fit(small_learner(arch=arch, arch_config={}), 4)
        assert np.isfinite([float(o) for o in learn.recorder.losses]).all()
        assert learn.encode(load_dataset()['X_test'][:3]).shape == (3, 32)

def test_arch_that_does_not_keep_time_is_refused():
    from tsai.models.TSTPlus import TSTPlus
    with pytest.raises(ValueError, match='any length'): small_learner(arch=TSTPlus, arch_config={})

# ---- data preparation ---------------------------------------------------------------------------------------------
def test_long_series_are_split_into_sections_and_windowed():
    X = np.random.default_rng(0).standard_normal((4, 2, 700)).astype(np.float32)
    learn = small_learner(X, bs=4, max_train_length=300)          # 700 // 300 = 2 sections of 350
    assert _train_series(learn.dls).shape == (8, 2, 350)
    quiet_fit(learn, 3)
    from hierts_tsai.learner import TS2VecViews
    c = [cb for cb in learn.cbs if isinstance(cb, TS2VecViews)][0].crops
    assert c.T == 300                                       # crops drawn inside a random window of 300 of the 350

def test_fewer_series_than_batch_size():
    X = np.random.default_rng(0).standard_normal((5, 2, 40)).astype(np.float32)
    learn = quiet_fit(small_learner(X, bs=8), 3)
    assert learn.dls.train.bs == 5 and learn.train_iter == 3

def test_all_nan_series_dropped_with_warning():
    X = np.random.default_rng(0).standard_normal((10, 2, 40)).astype(np.float32)
    X[3] = np.nan
    with pytest.warns(UserWarning, match='NaN everywhere'):
        learn = ts2vec_learner(get_ts_dls(X, bs=4), seed=0, **SMALL)
    assert len(learn.dls.train.dataset) == 9
    quiet_fit(learn, 3)

@pytest.mark.parametrize('X,msg', [
    (np.zeros((6, 2, 1), np.float32), 'at least 2 timestamps'),
])
def test_bad_training_series(X, msg):
    with pytest.raises(ValueError, match=msg): ts2vec_learner(get_ts_dls(X, bs=4), **SMALL)

def test_bad_encode_input():
    learn = small_learner()
    with pytest.raises(ValueError, match=r'\(n_series, channels, length\)'): learn.encode(np.zeros((4, 100)))
    with pytest.raises(ValueError, match='trained on 6 channels but X has 3'): learn.encode(np.zeros((4, 3, 100)))

def test_wrong_channels_in_batches():
    learn = small_learner()
    X3 = np.random.default_rng(0).standard_normal((16, 3, 50)).astype(np.float32)
    learn.dls = get_ts_dls(X3, bs=8)
    with pytest.raises(ValueError, match='built for 6 channels but a batch has 3'): quiet_fit(learn, 1)

def test_pool_repr_matches_ts2vec_definitions():
    z = torch.randn(2, 3, 9)
    ref = torch.stack([torch.stack([z[..., max(t - 1, 0):t + 2].max(-1)[0] for t in range(9)], -1)])[0]
    torch.testing.assert_close(pool_repr(z, 3), ref)
    torch.testing.assert_close(pool_repr(z, 'multiscale')[:, :3], ref)       # first scale: windows of 3
