"""Pretraining end to end (accuracy against an untrained control: test_accuracy.py): fastai integration, encoding through the DataLoaders' transforms,
predictions, tsai archs, data preparation, bad input"""
import warnings
import numpy as np
import pytest
import torch
from conftest import small_learner, quiet_fit, SMALL, batches_seen, window_starts
from tsai.data.core import get_ts_dls
from tsai.data.preprocessing import TSClassification, TSStandardize
from hierts_tsai.learner import ts2vec_learner, train_series
from hierts_tsai.iars import IARS
from hierts_tsai.data import standardize, load_dataset
from hierts_tsai.evaluate import eval_classification
from hierts_tsai.encoder import TS2VecEncoder

D = standardize(load_dataset())   # the bundled BasicMotions: no ../shared needed

def test_get_preds_and_get_x_preds_are_the_representations():
    d = D
    dls = get_ts_dls(d['X_train'], d['y_train'], splits=(list(range(32)), list(range(32, 40))), tfms=[None, TSClassification()],
                     batch_tfms=TSStandardize(by_var=True), bs=8)
    learn = quiet_fit(ts2vec_learner(dls, seed=0, **SMALL), 10)
    reps, targs = learn.get_preds(dl=learn.dls.test_dl(d['X_test']))
    assert reps.shape == (40, 32) and targs is None
    np.testing.assert_allclose(reps.numpy(), learn.encode(d['X_test']), rtol=1e-5, atol=1e-5)
    preds, y, decoded = learn.get_X_preds(d['X_test'][:6], y=d['y_test'][:6])
    np.testing.assert_allclose(preds.numpy(), learn.encode(d['X_test'][:6]), rtol=1e-5, atol=1e-5)
    assert torch.equal(preds, decoded) and len(y) == 6
    v1, v2 = learn.validate(), learn.validate()                  # the contrastive loss of the same validation views
    assert np.isfinite(v1[0]) and v1[0] == pytest.approx(v2[0], rel=1e-6)
    with pytest.raises(ValueError, match='learn.validate'): learn.get_preds(dl=learn.dls.valid, with_loss=True)

def test_arrays_become_tsai_dataloaders_and_dataloaders_refuse_array_options():
    "series, labels and splits give DataLoaders (batch size at most the training set); DataLoaders are used as given"
    X, y = D['X_train'], D['y_train']
    learn = ts2vec_learner(X, y, splits=(list(range(32)), list(range(32, 40))), bs=64, seed=0, **SMALL)
    assert (len(learn.dls.train.dataset), len(learn.dls.valid.dataset), learn.dls.train.bs) == (32, 8, 32)
    preds, targets, _ = learn.get_X_preds(X[:4], y=y[:4])
    assert preds.shape == (4, 32) and list(targets) == list(y[:4])
    dls = get_ts_dls(X, bs=8)
    assert ts2vec_learner(dls, **SMALL).dls is dls
    with pytest.raises(ValueError, match='y, splits describe how to build DataLoaders from arrays'):
        ts2vec_learner(dls, y=y, splits=(list(range(32)), list(range(32, 40))), **SMALL)

# ---- fastai integration ---------------------------------------------------------------------------------------------
def test_labelled_dls_fit_one_cycle_lr_find_and_callbacks():
    dls = get_ts_dls(D['X_train'], D['y_train'], splits=(list(range(32)), list(range(32, 40))), tfms=[None, TSClassification()], bs=8)
    learn = ts2vec_learner(dls, seed=0, **SMALL)
    with learn.no_bar(), learn.no_logging():
        learn.lr_find(num_it=8, show_plot=False)
        assert learn.swa_model is None or learn.swa_model.n_averaged.item() <= 1   # lr_find leaves no trace in the average
        learn.fit_one_cycle(2, 1e-3)
    assert len(learn.recorder.values) == 2
    train_loss, valid_loss = learn.recorder.values[-1][:2]
    assert np.isfinite(train_loss) and np.isfinite(valid_loss)
    assert learn.swa_model.n_averaged.item() == 1 + 2 * 4      # initial weights + one per step

def test_weight_average_is_the_mean_of_every_step():
    "the average equals the mean of the initial weights and the weights after each step, recorded independently"
    from fastai.callback.core import Callback
    class Snap(Callback):
        order = 60
        def before_fit(self): self.w = [torch.cat([p.detach().flatten().clone() for p in self.learn.model.parameters()])]
        def after_step(self): self.w.append(torch.cat([p.detach().flatten().clone() for p in self.learn.model.parameters()]))
    s = Snap()
    learn = quiet_fit(small_learner(cbs=s), 7)
    avg = torch.cat([p.detach().flatten() for p in learn.swa_model.module.parameters()])
    torch.testing.assert_close(avg, torch.stack(s.w).mean(0), rtol=1e-5, atol=1e-6)

def test_loss_decreases():
    learn = quiet_fit(small_learner(), 60)
    l = learn.recorder.losses
    assert np.mean([float(o) for o in l[-10:]]) < np.mean([float(o) for o in l[:10]])

def test_encode_windows_eval_mode_and_swa():
    learn = quiet_fit(small_learner(), 10)
    X = D['X_test'][:5]
    full = learn.encode(X)
    assert full.shape == (5, 32) and full.dtype == np.float32
    learn.swa_model.module.train()
    np.testing.assert_allclose(full, learn.encode(X, bs=2), rtol=1e-5, atol=1e-6)  # eval mode: no dropout, no mask
    assert learn.swa_model.module.training                                     # ... and the mode is restored
    assert learn.encode(X, encoding_window=None).shape == (5, 32, 100)
    assert learn.encode(X, encoding_window='multiscale').shape == (5, 32 * 7, 100)   # windows 3, 5, 9, ..., 65
    np.testing.assert_allclose(full, learn.encode(X, encoding_window=None).max(-1), rtol=1e-6)
    assert not np.allclose(full, learn.encode(X, swa=False))                   # the average is not the last weights
    long = np.tile(X, (1, 1, 30))                                               # 3000 timestamps, far longer than any crop
    np.testing.assert_allclose(learn.encode(long, window=256), learn.encode(long, window=None), rtol=1e-4, atol=1e-5)
    dl = get_ts_dls(X, bs=2).train                                              # a DataLoader is encoded as it is
    assert learn.encode(dl).shape == (4, 32)                                    # (its drop_last leaves 2 batches of 2)

def test_save_encoder_reloads_in_ts_learner(tmp_path):
    from tsai.learner import ts_learner
    learn = quiet_fit(small_learner(), 5)
    path = learn.save_encoder(tmp_path / 'enc.pth')
    dls = get_ts_dls(D['X_train'], D['y_train'], tfms=[None, TSClassification()], bs=8)
    clf = ts_learner(dls, TS2VecEncoder, arch_config=dict(depth=2, hidden=16, repr_dims=32), pretrained=True, weights_path=path)
    src = learn.swa_model.module.backbone.state_dict()
    for k, v in clf.model.backbone.state_dict().items(): torch.testing.assert_close(v.cpu(), src[k])

def test_tsai_archs_pretrain_and_encode():
    from tsai.models.InceptionTimePlus import InceptionTimePlus
    from tsai.models.XCMPlus import XCMPlus
    for arch in (InceptionTimePlus, XCMPlus):
        learn = quiet_fit(small_learner(arch=arch, arch_config={}), 4)
        assert np.isfinite([float(o) for o in learn.recorder.losses]).all()
        assert learn.encode(D['X_test'][:3]).shape == (3, 32)

def test_arch_that_does_not_keep_time_is_refused():
    "a backbone that pools time away (TSTPlus is a fixed-length arch now, which pretrains) or a model without a backbone: one clear error"
    import torch.nn as nn
    class Pooling(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv1d(6, 8, 1), nn.AdaptiveAvgPool1d(1), nn.Flatten())
            self.head = nn.Linear(8, 2)
    with pytest.raises(ValueError, match='does not keep the time axis'): small_learner(arch=Pooling(), arch_config={})
    with pytest.raises(ValueError, match='no backbone/head split'): small_learner(arch=nn.Conv1d(6, 8, 1), arch_config={})

# ---- data preparation ---------------------------------------------------------------------------------------------
def test_long_series_are_split_into_sections_and_windowed():
    "series of 700 with max_train_length=300: each training batch holds one section (350) of each series, views within 300 of it"
    X = np.random.default_rng(0).standard_normal((4, 2, 700)).astype(np.float32)
    rec = batches_seen()
    learn = small_learner(X, bs=4, max_train_length=300, cbs=rec)   # 700 // 300 = 2 sections of 350
    np.testing.assert_array_equal(train_series(learn.dls), X)        # the data as given: sections are cut per batch
    quiet_fit(learn, 3)
    assert len(rec.prepared) == len(rec.views) == 3
    sections = set()
    for P, (x1, x2) in zip(rec.prepared, rec.views):
        assert P.shape == (4, 2, 350)
        for row in P:
            found = [(j, s) for j in range(4) for s in (0, 350) if np.array_equal(row, X[j, :, s:s + 350])]
            assert len(found) == 1, 'a prepared series is not one section of one training series'
            sections.add(found[0][1])
        assert max(x1.shape[-1], x2.shape[-1]) <= 300                # views drawn inside a random window of 300 of the 350
        for i in range(4): assert window_starts(x1[i], P[i]) and window_starts(x2[i], P[i])   # ... of that series' section
    assert sections == {0, 350}                                      # both sections are drawn

def test_fewer_series_than_batch_size():
    X = np.random.default_rng(0).standard_normal((5, 2, 40)).astype(np.float32)
    learn = quiet_fit(small_learner(X, bs=8), 3)
    assert learn.dls.train.bs == 5 and learn.train_iter == 3

def test_all_nan_series_dropped_with_warning():
    "a series NaN everywhere stays in the DataLoaders (the data as given) and is dropped from every training batch"
    X = np.random.default_rng(0).standard_normal((10, 2, 40)).astype(np.float32)
    X[3] = np.nan
    rec = batches_seen()
    with pytest.warns(UserWarning, match=r'1 of 10 training series are NaN everywhere \(indices \[3\]\).*every training batch drops them'):
        learn = ts2vec_learner(get_ts_dls(X, bs=10), seed=0, cbs=rec, precision='float32', **SMALL)
    assert len(learn.dls.train.dataset) == 10
    quiet_fit(learn, 3)
    assert len(rec.views) == 3
    for P, (x1, x2) in zip(rec.prepared, rec.views):                 # every batch holds all 10 series: the model sees 9
        assert P.shape[0] == x1.shape[0] == x2.shape[0] == 9 and not np.isnan(P).any()
    assert np.isfinite([float(o) for o in learn.recorder.losses]).all()

def test_bad_encode_input():
    learn = small_learner()
    with pytest.raises(ValueError, match=r'\(n_series, channels, length\)'): learn.encode(np.zeros((4, 100)))
    with pytest.raises(ValueError, match='trained on 6 channels but X has 3'): learn.encode(np.zeros((4, 3, 100)))
    with pytest.raises(ValueError, match=r'looks like \(series, labels\)'): learn.encode((D['X_test'], D['y_test']))
    with pytest.raises(ValueError, match=r'takes batches \(batch, 6, time\)'): learn.encode(get_ts_dls(D['X_test'][:, :2], bs=4).train)

def test_wrong_channels_in_batches():
    learn = small_learner()
    X3 = np.random.default_rng(0).standard_normal((16, 3, 50)).astype(np.float32)
    learn.dls = get_ts_dls(X3, bs=8)
    with pytest.raises(ValueError, match='built for 6 channels but a batch has 3'): quiet_fit(learn, 1)

def test_sklearn_transformer_pickles_and_names_its_features():
    "TS2VecTransformer keeps only the averaged encoder: it pickles, transforms the same after the round trip, names its features"
    import pickle
    from hierts_tsai.estimator import TS2VecTransformer
    X = D['X_train'][:16]
    t = TS2VecTransformer(mode='iars', n_iters=3, repr_dims=8, arch_config=dict(depth=1, hidden=8), seed=0, precision='float32').fit(X)
    assert not hasattr(t, 'learner_') and t.n_features_in_ == 6 and t.precision_ == 'float32'
    z = t.transform(D['X_test'][:5])
    assert z.shape == (5, 8) and np.isfinite(z).all()
    t2 = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(t2.transform(D['X_test'][:5]), z)
    assert list(t.get_feature_names_out()) == [f'ts2vec{i}' for i in range(8)]
    with pytest.raises(ValueError, match='trained on 6 channels but X has 3'): t.transform(D['X_test'][:5, :3])

def test_one_long_array_trains_on_ts2vecs_sections():
    "One series of 7,000 timestamps: TS2Vec's `fit` trains on its 2 sections as 2 series (both in each batch, so the instance term has pairs), not on batches of one series"
    from hierts_tsai.augment import split_sections
    X = np.random.default_rng(0).standard_normal((1, 2, 7000)).astype(np.float32)
    learn = ts2vec_learner(X, repr_dims=8, arch_config=dict(hidden=8, depth=2), precision='float32', seed=0)
    np.testing.assert_array_equal(np.asarray(learn.dls.train.dataset.ptls[0]), split_sections(X, 3000))
    assert learn.dls.train.bs == 2 and len(learn.dls.train) == 1
    seen = []
    learn.model.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape[0]))
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(2)
    assert seen == [2, 2]
    assert len(ts2vec_learner(X, max_train_length=None, repr_dims=8, arch_config=dict(hidden=8, depth=2)).dls.train.dataset) == 1
