"Reliability: bad input, determinism, exact resumption (budgets included), mixed precision where it really runs"
import warnings
import numpy as np
import pytest
import torch
from conftest import small_learner, quiet_fit, SMALL, batches_seen, window_starts
from tsai.data.core import get_ts_dls
from fastai.callback.tracker import SaveModelCallback
from fastai.callback.core import Callback
from hierts_tsai.learner import ts2vec_learner, train_series
from hierts_tsai.resume import training_state
from hierts_tsai.callbacks import Autocast
from hierts_tsai.iars import IARS
from hierts_tsai.data import load_dataset, standardize

D = standardize(load_dataset())
rng = np.random.default_rng(0)
def series(n=12, c=2, T=40, dtype=np.float32): return rng.standard_normal((n, c, T)).astype(dtype)

class Trace(Callback):
    "Record every training loss and crop length"
    order = 90
    def before_fit(self): self.ls, self.crops = [], []
    def after_batch(self):
        if self.training: self.ls.append(float(self.learn.loss.detach())); self.crops.append(self.learn.xb[-1])

def finite_losses(learn): return np.isfinite([float(l) for l in learn.recorder.losses]).all()

# ---- bad input: one test each ----------------------------------------------------------------------------------------
def test_series_nan_everywhere_is_dropped_with_warning():
    "series NaN everywhere stay in the data (as given), the learner warns, and no training batch holds them"
    X = series(); X[[2, 5]] = np.nan
    rec = batches_seen()
    with pytest.warns(UserWarning, match=r'2 of 12 training series are NaN everywhere \(indices \[2, 5\]\): every training batch drops them'):
        learn = ts2vec_learner(X, seed=0, bs=12, cbs=rec, precision='float32', **SMALL)
    assert len(learn.dls.train.dataset) == 12
    assert finite_losses(quiet_fit(learn, 4))
    assert len(rec.views) == 4                                        # each batch holds all 12 series: the model sees 10
    for P, (x1, x2) in zip(rec.prepared, rec.views): assert P.shape[0] == len(x1) == len(x2) == 10 and not np.isnan(P).all(-1).any()

def test_nan_at_start_and_end_is_centred():
    "a training batch's NaN-padded series are centred (missing prefix and suffix equal ±1), and the views come from the centred series"
    X = series(T=60)
    X[0, :, :10] = np.nan; X[1, :, 45:] = np.nan                      # variable length, NaN-padded
    rec = batches_seen()
    learn = ts2vec_learner(get_ts_dls(X, bs=4), seed=0, cbs=rec, precision='float32', **SMALL)
    np.testing.assert_array_equal(train_series(learn.dls), X)          # the data as given: centring is per batch
    assert finite_losses(quiet_fit(learn, 6))
    ragged = 0
    for P, (x1, x2) in zip(rec.prepared, rec.views):
        assert P.shape == (4, 2, 60)
        for i, row in enumerate(P):
            src = [j for j in range(len(X)) if np.isin(row[0][~np.isnan(row[0])], X[j, 0]).all()]
            assert len(src) == 1                                       # the batch's series are training series ...
            j = src[0]
            np.testing.assert_array_equal(row[:, ~np.isnan(row[0])], X[j][:, ~np.isnan(X[j, 0])])   # ... shifted only
            m = np.isnan(row).all(0)
            if j < 2:
                ragged += 1
                assert abs(np.argmax(~m) - np.argmax(~m[::-1])) <= 1   # TS2Vec centres each series: prefix and suffix equal (±1)
            else: assert not m.any()
            assert window_starts(x1[i], row) and window_starts(x2[i], row)   # the model's views are windows of the centred series
    assert ragged > 0                                                  # the ragged series were drawn into some batch
    assert np.isfinite(learn.encode(X)).all()

def test_length_below_two_is_refused():
    with pytest.raises(ValueError, match=r'X has series of length 1: need at least 2 timestamp\(s\) \(two crops must overlap\)'):
        ts2vec_learner(series(T=1), **SMALL)

def test_last_batch_of_one_series():
    X = series(n=9)
    learn = ts2vec_learner(get_ts_dls(X, bs=8, drop_last=False), seed=0, cbs=IARS(), **SMALL)  # batches of 8 and 1
    rec = Trace()
    with learn.no_bar(), learn.no_logging(): learn.fit(2, cbs=rec)
    assert len(rec.ls) == 4 and np.isfinite(rec.ls).all()
    assert learn.encode(X, bs=8).shape == (9, 32)                     # the encoder's last batch is 1 series too

@pytest.mark.parametrize('dtype', [np.int64, np.float64])
def test_integer_and_float64_input_are_cast(dtype):
    X = (series() * 10).astype(dtype)
    learn = quiet_fit(ts2vec_learner(get_ts_dls(X, bs=4), seed=0, **SMALL), 3)
    assert finite_losses(learn)
    z = learn.encode(X)
    assert z.dtype == np.float32 and np.isfinite(z).all()

def test_empty_dataset():
    with pytest.raises(ValueError, match='empty'): ts2vec_learner(np.zeros((0, 2, 40), np.float32), **SMALL)

def test_not_three_dimensional():
    with pytest.raises(ValueError, match=r'\(n_series, channels, length\), got shape \(12, 40\)'):
        ts2vec_learner(series()[:, 0], **SMALL)

@pytest.mark.parametrize('with_iars', [True, False])
def test_no_level_with_a_gradient_is_a_clear_error(with_iars):
    "one series and alpha=1: no level has a term to train, with IARS and with TS2Vec's loss alike"
    X = series(n=1)
    with pytest.raises(ValueError, match=r'no level of this batch has a loss term to train \(batch of 1 series.*alpha=1.0'):
        quiet_fit(ts2vec_learner(X, alpha=1., cbs=IARS() if with_iars else None, **SMALL), 2)

@pytest.mark.parametrize('kw,msg', [(dict(max_dense=0), 'max_dense must be a positive int'), (dict(alpha=1.5), r'alpha must be a number in \[0, 1\]'),
                                    (dict(temporal_unit=-1), 'temporal_unit must be an int >= 0')])
def test_bad_loss_configuration(kw, msg):
    with pytest.raises(ValueError, match=msg): ts2vec_learner(series(), **SMALL, **kw)

@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the error a machine without CUDA gives')
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match=r"device cuda was requested but torch.cuda.is_available\(\) is False"):
        ts2vec_learner(series(), device='cuda', **SMALL)

# ---- determinism ------------------------------------------------------------------------------------------------------
def test_same_seed_same_loss_trajectory_and_levels():
    runs = []
    for seed in (0, 0, 1):
        rec, cb = Trace(), IARS()
        learn = small_learner(cbs=[cb, rec], seed=seed)
        quiet_fit(learn, 30)
        runs.append((rec.ls, cb.history['level'], learn.encode(D['X_test'][:4])))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    np.testing.assert_array_equal(runs[0][2], runs[1][2])
    assert runs[2][1] != runs[0][1]                                   # another seed, other draws

# ---- resume ------------------------------------------------------------------------------------------------------------
def test_resume_from_checkpoint_reproduces_levels_and_losses(tmp_path):
    "4 epochs straight vs. 2 epochs, checkpoint (SaveModelCallback), new learner, load, resume: the same last 2 epochs"
    rec, cb = Trace(), IARS()
    a = small_learner(cbs=[cb, rec], path=tmp_path)
    with a.no_bar(), a.no_logging(): a.fit(4, cbs=SaveModelCallback(monitor='train_loss', every_epoch=True, fname='ck', with_opt=True))
    steps = len(rec.ls) // 4
    rec2, cb2 = Trace(), IARS()
    b = small_learner(cbs=[cb2, rec2], path=tmp_path, seed=123)        # another seed: everything must come from the file
    b.load('ck_1')                                                      # written after epochs 0 and 1
    assert cb2.step == 2 * steps and cb2.history['level'] == cb.history['level'][:2 * steps]
    with b.no_bar(), b.no_logging(): b.fit(4, start_epoch=2)
    assert rec2.crops == rec.crops[2 * steps:]
    assert cb2.history['level'] == cb.history['level']
    assert rec2.ls == pytest.approx(rec.ls[2 * steps:], rel=1e-5)
    np.testing.assert_allclose(b.encode(D['X_test'][:4]), a.encode(D['X_test'][:4]), rtol=1e-5, atol=1e-6)

def test_resumed_fit_iters_trains_exactly_the_remaining_iterations(tmp_path):
    "fit_iters(23) saved after its 2nd epoch (10 iterations), loaded into a new learner: fit_iters() trains the 13 left, as the uninterrupted run did"
    rec, cb = Trace(), IARS()
    a = small_learner(cbs=[cb, rec], path=tmp_path)
    with a.no_bar(), a.no_logging(): a.fit_iters(23, cbs=SaveModelCallback(monitor='train_loss', every_epoch=True, fname='it', with_opt=True))
    assert len(rec.ls) == 23 and a.train_iter == 23
    assert len(a.recorder.values) == 5 and (tmp_path / 'models' / 'it_4.pth').exists()   # 5 ordinary epochs, the last one of 3 batches
    rec2, cb2 = Trace(), IARS()
    b = small_learner(cbs=[cb2, rec2], path=tmp_path, seed=7)
    b.load('it_1')
    assert b.resume_budget == {'n_iters': 23, 'done': 10}
    with b.no_bar(), b.no_logging(): b.fit_iters()
    assert len(rec2.ls) == 13 and b.train_iter == 13
    assert rec2.crops == rec.crops[10:] and cb2.history['level'] == cb.history['level']
    assert rec2.ls == pytest.approx(rec.ls[10:], rel=1e-5)
    with b.no_bar(), b.no_logging(): b.fit_iters(5)                    # the budget is done: a new one
    assert b.train_iter == 5
    b.load('it_1')
    with b.no_bar(), b.no_logging(): b.fit_iters(23, resume=False)     # or start the count anew
    assert b.train_iter == 23

def test_checkpoints_keep_every_random_state_and_only_the_callbacks_states():
    "random states of every generator, CUDA's included; states of the callbacks that have one, not copies of the model"
    class Mine(Callback):
        def state_dict(self): return {'x': 1}
        def load_state_dict(self, sd): self.x = sd['x']
    learn = quiet_fit(small_learner(cbs=[IARS(), Mine()]), 3)
    st = training_state(learn)
    assert {'random_state', 'numpy_state', 'torch_state', 'torch_cuda_state'} <= set(st['random'])
    assert set(st['cbs']) == {'TS2VecViews', 'SWA', 'IARS', 'Mine'}   # fastai's own callbacks hold no state to resume
    assert set(st['cbs']['IARS']) == {'rng', 'choice', 'step', 'history'} and st['cbs']['IARS']['step'] == 3

class Untrusted:
    "An object a weights-only load does not unpickle"

def test_load_reads_weights_only_by_default(tmp_path):
    "a checkpoint of `save` loads weights-only; a file holding other objects is refused unless weights_only=False"
    learn = quiet_fit(small_learner(cbs=IARS(), path=tmp_path), 3)
    learn.save('ck')
    b = small_learner(cbs=IARS(), path=tmp_path, seed=5)
    b.load('ck')
    for p, q in zip(learn.model.parameters(), b.model.parameters()): torch.testing.assert_close(p, q)
    torch.save({'model': learn.model.state_dict(), 'hierts': training_state(learn), 'extra': Untrusted()},
               tmp_path / 'models' / 'odd.pth')
    with pytest.raises(ValueError, match='weights-only load refuses'): b.load('odd')
    b.load('odd', weights_only=False)                                   # a trusted file

@pytest.mark.gpu
def test_checkpoints_round_trip_on_cuda(tmp_path):
    "on a GPU: save, load (mapped to CUDA), lr_find (which saves and loads), and resume training"
    learn = quiet_fit(small_learner(cbs=IARS(), path=tmp_path, device='cuda'), 6)
    learn.save('ck')
    b = small_learner(cbs=IARS(), path=tmp_path, device='cuda', seed=3)
    b.load('ck')
    with b.no_bar(), b.no_logging(): b.lr_find(num_it=6, show_plot=False)
    quiet_fit(b, 4)
    assert b.train_iter == 4 and np.isfinite([float(l) for l in b.recorder.losses]).all()

# ---- mixed precision ---------------------------------------------------------------------------------------------------
class Dtypes(Callback):
    order = 20
    def before_fit(self): self.pred, self.loss_dtypes = set(), set()
    def after_loss(self):
        if self.training: self.pred.add(self.learn.pred[0].dtype); self.loss_dtypes.add(self.learn.loss_grad.dtype)

def test_bf16_autocast_really_runs_on_cpu():
    "Autocast(bfloat16) on a CPU: the encoder's convolutions compute in bfloat16, the loss in float32, 200 finite steps"
    dt, seen = Dtypes(), set()
    learn = small_learner(cbs=[Autocast(torch.bfloat16), IARS(), dt])
    conv = learn.model.backbone.feature_extractor[0].conv1.conv
    conv.register_forward_hook(lambda m, i, o: seen.add(o.dtype))
    quiet_fit(learn, 200)
    assert finite_losses(learn) and len(learn.recorder.losses) == 200
    assert seen == {torch.bfloat16} and dt.pred == {torch.bfloat16}   # inside the encoder and at its output ...
    assert dt.loss_dtypes == {torch.float32}                           # ... and the loss (its log-sum-exp) in float32

def test_the_default_precision_trains_as_it_says():
    "precision='auto' (the default): whichever precision the learner chose (test_precision.py: how), it trains in it, the loss in float32"
    dt = Dtypes()
    learn = quiet_fit(ts2vec_learner(series(), cbs=dt, seed=0, **SMALL), 3)
    bf16 = learn.precision == 'bfloat16'
    assert any(isinstance(cb, Autocast) for cb in learn.cbs) == bf16
    assert dt.pred == {torch.bfloat16 if bf16 else torch.float32} and dt.loss_dtypes == {torch.float32} and finite_losses(learn)
    assert learn.encode(series(n=2)).dtype == np.float32
    assert ts2vec_learner(series(), precision='float32', **SMALL).precision == 'float32'
    with pytest.raises(ValueError, match="precision must be 'auto' or one of"): ts2vec_learner(series(), precision='half', **SMALL)

@pytest.mark.gpu
def test_to_fp16_runs_float16_on_cuda():
    "fastai's to_fp16 autocasts CUDA only: on a GPU the encoder computes in float16 and 200 steps stay finite"
    dt = Dtypes()
    learn = small_learner(cbs=[IARS(), dt], device='cuda').to_fp16()
    quiet_fit(learn, 200)
    assert finite_losses(learn) and dt.pred == {torch.float16} and dt.loss_dtypes == {torch.float32}

def test_to_fp16_on_a_cpu_is_a_no_op():
    "README says so: fastai's MixedPrecision does nothing on a CPU (use Autocast), and training stays float32"
    dt = Dtypes()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = quiet_fit(small_learner(cbs=[IARS(), dt], device='cpu').to_fp16(), 5)
    assert dt.pred == {torch.float32} and finite_losses(learn)

def test_a_checkpoint_says_which_crops_it_drew(tmp_path):
    "resuming on other crops than the checkpoint's warns and names the switch (older checkpoints drew exact crops)"
    a = small_learner(crops='grid', seed=0, path=tmp_path)
    with a.no_bar(), a.no_logging(): a.fit_iters(2)
    a.save('ck')
    with pytest.warns(UserWarning, match="trained on grid crops .* crops='grid'"): small_learner(seed=0, path=tmp_path).load('ck')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        small_learner(crops='grid', seed=0, path=tmp_path).load('ck')
