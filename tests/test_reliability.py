"Reliability: bad input, determinism, resume from a checkpoint, mixed precision"
import warnings
import numpy as np
import pytest
import torch
from conftest import small_learner, quiet_fit, SMALL
from tsai.data.core import get_ts_dls
from fastai.callback.tracker import SaveModelCallback
from fastai.callback.core import Callback
from hierts_tsai.learner import ts2vec_learner, Autocast, TS2VecViews
from hierts_tsai.iars import IARS
from hierts_tsai.data import load_dataset, standardize
from hierts_tsai.evaluate import eval_classification

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
    X = series(); X[[2, 5]] = np.nan
    with pytest.warns(UserWarning, match='dropped 2 of 12 series that are NaN everywhere'):
        learn = ts2vec_learner(X, seed=0, **SMALL)
    assert len(learn.dls.train.dataset) == 10
    assert finite_losses(quiet_fit(learn, 4))

def test_nan_at_start_and_end_is_centred():
    X = series(T=60)
    X[0, :, :10] = np.nan; X[1, :, 45:] = np.nan                      # variable length, NaN-padded
    learn = ts2vec_learner(get_ts_dls(X, bs=4), seed=0, **SMALL)
    from hierts_tsai.learner import _train_series
    P = _train_series(learn.dls)
    # TS2Vec centres each series: its missing prefix and suffix become equal (±1)
    miss = np.isnan(P[:2]).all(1)
    for m in miss:
        pre, suf = np.argmax(~m), np.argmax(~m[::-1])
        assert abs(pre - suf) <= 1
    assert finite_losses(quiet_fit(learn, 6))
    assert np.isfinite(learn.encode(X)).all()

def test_length_below_two_is_refused():
    with pytest.raises(ValueError, match='series of length 1: contrastive pretraining needs at least 2 timestamps'):
        ts2vec_learner(series(T=1), **SMALL)

def test_last_batch_of_one_series():
    X = series(n=9)
    dls = get_ts_dls(X, bs=8, drop_last=False)                        # batches of 8 and 1
    learn = ts2vec_learner(dls, seed=0, **SMALL)
    rec = Trace()
    with learn.no_bar(), learn.no_logging(): learn.fit(2, cbs=rec)
    assert len(rec.ls) == 4 and np.isfinite(rec.ls).all()
    assert learn.encode(X, bs=8).shape == (9, 32)                     # the encoder's last batch is 1 series too

def test_single_class_at_evaluation():
    with pytest.raises(ValueError, match="single class .*needs at least 2 classes"):
        eval_classification(np.ones((5, 3)), ['a'] * 5, np.ones((2, 3)), ['a', 'b'])

@pytest.mark.parametrize('dtype', [np.int64, np.float64])
def test_integer_and_float64_input_are_cast(dtype):
    X = (series() * 10).astype(dtype)
    learn = quiet_fit(ts2vec_learner(get_ts_dls(X, bs=4), seed=0, **SMALL), 3)
    assert finite_losses(learn)
    z = learn.encode(X)
    assert z.dtype == np.float32 and np.isfinite(z).all()

def test_channel_count_that_does_not_match_the_model():
    learn = small_learner()
    with pytest.raises(ValueError, match='trained on 6 channels but X has 2'): learn.encode(series())
    learn.dls = get_ts_dls(series(n=16), bs=8)
    with pytest.raises(ValueError, match='built for 6 channels but a batch has 2'): quiet_fit(learn, 1)

def test_empty_dataset():
    with pytest.raises(ValueError, match='empty'): ts2vec_learner(np.zeros((0, 2, 40), np.float32), **SMALL)

def test_fewer_series_than_the_batch_size():
    learn = quiet_fit(ts2vec_learner(get_ts_dls(series(n=3), bs=8), seed=0, **SMALL), 4)
    assert learn.dls.train.bs == 3 and learn.train_iter == 4 and finite_losses(learn)

def test_not_three_dimensional():
    with pytest.raises(ValueError, match=r'\(n_series, channels, length\), got shape \(12, 40\)'):
        ts2vec_learner(series()[:, 0], **SMALL)

# ---- determinism ------------------------------------------------------------------------------------------------------
def test_same_seed_same_loss_trajectory_and_levels():
    runs = []
    for _ in range(2):
        rec, cb = Trace(), IARS()
        learn = small_learner(cbs=[cb, rec])
        quiet_fit(learn, 30)
        runs.append((rec.ls, cb.history['level'], learn.encode(D['X_test'][:4])))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1]
    np.testing.assert_array_equal(runs[0][2], runs[1][2])

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

# ---- mixed precision ---------------------------------------------------------------------------------------------------
class Dtypes(Callback):
    order = 20
    def before_fit(self): self.pred, self.loss_dtypes = set(), set()
    def after_loss(self): self.pred.add(self.learn.pred[0].dtype); self.loss_dtypes.add(self.learn.loss_grad.dtype)

def test_bf16_autocast_on_cpu_200_iterations():
    dt = Dtypes()
    learn = small_learner(cbs=[Autocast(torch.bfloat16), IARS(), dt])
    quiet_fit(learn, 200)
    assert finite_losses(learn) and len(learn.recorder.losses) == 200
    assert dt.pred == {torch.bfloat16}          # the encoder ran in bfloat16 ...
    assert dt.loss_dtypes == {torch.float32}           # ... the loss (its log-sum-exp) in float32

def test_to_fp16_200_iterations():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = small_learner(cbs=IARS()).to_fp16()
        quiet_fit(learn, 200)
    assert finite_losses(learn) and len(learn.recorder.losses) == 200
