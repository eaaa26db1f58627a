"""fastai's and tsai's own paths (issue 19): every standard callback under fit, fit_one_cycle and fit_iters, with and
without a validation set, with rows that line up with their columns; tsai's builder shapes; load then fit_iters"""
import csv, warnings
import numpy as np
import pytest
import torch
import matplotlib; matplotlib.use('Agg')
from conftest import SMALL
from fastai.callback.tracker import EarlyStoppingCallback, SaveModelCallback, ReduceLROnPlateau
from fastai.callback.progress import ShowGraphCallback, CSVLogger
from fastai.callback.training import GradientAccumulation
from tsai.data.core import get_ts_dls
from tsai.data.validation import get_splits
from tsai.data.preprocessing import TSClassification
from hierts_tsai.learner import ts2vec_learner
from hierts_tsai.iars import IARS
from hierts_tsai.transfer import SaveEncoderWeights
from hierts_tsai.data import load_dataset, standardize

D = standardize(load_dataset())
SPLITS = get_splits(D['y_train'], valid_size=.25, random_state=0, show_plot=False)   # 30 / 10 series: 3 training batches of 8

CALLBACKS = {
    'EarlyStopping': lambda m: EarlyStoppingCallback(monitor=m, patience=100),
    'SaveModel-defaults': lambda m: SaveModelCallback(monitor=m),
    'SaveModel-every_epoch': lambda m: SaveModelCallback(monitor=m, every_epoch=True),
    'ShowGraph': lambda m: ShowGraphCallback(),
    'CSVLogger': lambda m: CSVLogger(fname='history.csv'),
    'ReduceLROnPlateau': lambda m: ReduceLROnPlateau(monitor=m, patience=1),
    'GradientAccumulation': lambda m: GradientAccumulation(n_acc=16),
    'SaveEncoderWeights': lambda m: SaveEncoderWeights(monitor=m),
    'IARS': lambda m: IARS(),
}
FITS = {'fit': lambda l, cb: l.fit(2, cbs=cb), 'fit_one_cycle': lambda l, cb: l.fit_one_cycle(2, cbs=cb),
        'fit_iters': lambda l, cb: l.fit_iters(8, cbs=cb)}   # fit_iters(8): a last, partial epoch either way

@pytest.mark.slow
@pytest.mark.parametrize('valid', [True, False], ids=['valid', 'no-valid'])
@pytest.mark.parametrize('fit', list(FITS))
@pytest.mark.parametrize('cb', list(CALLBACKS))
def test_callback_matrix(cb, fit, valid, tmp_path):
    "each fastai callback runs under each way of fitting; the recorder's and CSVLogger's rows have one value per column"
    if cb == 'ShowGraph' and not valid:
        pytest.skip("fastai's ShowGraphCallback plots the validation loss: without a validation set it fails with Learner.fit too")
    dls = (get_ts_dls(D['X_train'], D['y_train'], splits=SPLITS, tfms=[None, TSClassification()], bs=8) if valid   # labelled, as tsai users have them
           else get_ts_dls(D['X_train'], bs=8))
    learn = ts2vec_learner(dls, seed=0, path=tmp_path, precision='float32', **SMALL)
    monitor = 'valid_loss' if valid else 'train_loss'   # fastai's trackers watch a recorded value; without a validation set, the training loss
    c = CALLBACKS[cb](monitor)
    with warnings.catch_warnings(), learn.no_logging():
        warnings.simplefilter('ignore')
        if cb == 'ShowGraph': FITS[fit](learn, c)       # ShowGraph draws into the progress bar
        else:
            with learn.no_bar(): FITS[fit](learn, c)
    names = learn.recorder.metric_names
    assert names == ['epoch', 'train_loss'] + (['valid_loss'] if valid else []) + ['time']
    epochs = -(-8 // len(dls.train)) if fit == 'fit_iters' else 2    # fit_iters(8): 3, 3, 2 batches (30 series) or 5, 3 (40)
    assert len(learn.recorder.values) == epochs and all(len(v) == len(names) - 2 for v in learn.recorder.values), learn.recorder.values
    assert all(np.isfinite(v).all() for v in learn.recorder.values)
    if cb == 'CSVLogger':
        rows = list(csv.reader(open(tmp_path / 'history.csv')))
        assert rows[0] == names and len(rows) == epochs + 1 and all(len(r) == len(names) for r in rows)
    if cb == 'SaveEncoderWeights': assert (tmp_path / 'models' / 'encoder.pth').exists()
    if cb == 'SaveModel-defaults': assert (tmp_path / 'models' / 'model.pth').exists()

def test_fit_iters_partial_epochs_count_exactly():
    "fit_iters(n) trains exactly n iterations in ceil(n / batches) epochs, the last one shorter"
    learn = ts2vec_learner(D['X_train'], seed=0, precision='float32', **SMALL)          # 40 series, bs 8: 5 batches an epoch
    for n, epochs in ((3, 1), (5, 1), (7, 2), (12, 3)):
        with learn.no_bar(), learn.no_logging(): learn.fit_iters(n)
        assert learn.train_iter == n and len(learn.recorder.values) == epochs

def test_load_then_fit_iters_on_a_fresh_learner(tmp_path):
    "a checkpoint loads into a learner built from scratch, which then trains (the rest of the budget, or a new one)"
    a = ts2vec_learner(D['X_train'], D['y_train'], splits=SPLITS, seed=0, path=tmp_path, precision='float32', **SMALL)
    with a.no_bar(), a.no_logging(): a.fit_iters(8, cbs=SaveModelCallback(every_epoch=True, fname='ck', with_opt=True))
    b = ts2vec_learner(D['X_train'], D['y_train'], splits=SPLITS, seed=1, path=tmp_path, precision='float32', **SMALL)
    b.load('ck_0')
    assert b.resume_budget == {'n_iters': 8, 'done': 3}
    with b.no_bar(), b.no_logging(): b.fit_iters()
    assert b.train_iter == 5 and len(b.recorder.values[-1]) == 2
    for p, q in zip(a.model.parameters(), b.model.parameters()): torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)

def test_tsai_builder_shapes():
    "ts2vec_learner(X, y, splits, tfms, batch_tfms) as TSClassifier takes them; y rides along to get_X_preds"
    from tsai.data.preprocessing import TSStandardize
    learn = ts2vec_learner(D['X_train'], D['y_train'], splits=SPLITS, batch_tfms=TSStandardize(), seed=0, precision='float32', **SMALL)
    assert len(learn.dls.train.dataset) == 30 and len(learn.dls.valid.dataset) == 10
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(4)
    preds, y, _ = learn.get_X_preds(D['X_test'][:6], D['y_test'][:6])
    assert preds.shape == (6, 32) and list(y) == list(D['y_test'][:6])
    with pytest.raises(ValueError, match='label metrics'): ts2vec_learner(D['X_train'], metrics=lambda p, y: 0, **SMALL)
    import pandas as pd
    with pytest.raises(ValueError, match="pandas DataFrame.*df2xy"): ts2vec_learner(pd.DataFrame(np.zeros((4, 3))), **SMALL)

@pytest.mark.parametrize('cb', ['EarlyStopping', 'SaveModel-defaults', 'ReduceLROnPlateau', 'CSVLogger', 'SaveEncoderWeights'])
def test_a_resumed_budget_runs_only_its_epochs_for_every_callback(cb, tmp_path):
    "load, then fit_iters(): the epochs before the checkpoint are not run (no empty rows), the epoch-end callbacks see ordinary epochs"
    a = ts2vec_learner(D['X_train'], D['y_train'], splits=SPLITS, seed=0, path=tmp_path, precision='float32', **SMALL)
    with a.no_bar(), a.no_logging(): a.fit_iters(8, cbs=SaveModelCallback(every_epoch=True, fname='ck', with_opt=True))
    b = ts2vec_learner(D['X_train'], D['y_train'], splits=SPLITS, seed=1, path=tmp_path, precision='float32', **SMALL).load('ck_1')
    with warnings.catch_warnings(record=True) as w, b.no_bar(), b.no_logging():
        warnings.simplefilter('always')
        b.fit_iters(cbs=CALLBACKS[cb]('valid_loss'))
    assert any('resumes the loaded budget: 2 of 8' in str(x.message) for x in w)
    assert b.train_iter == 2 and b.epoch == 2 and [len(v) for v in b.recorder.values] == [2]    # epoch 2 only, a whole row
    if cb == 'CSVLogger': assert [r[0] for r in csv.reader(open(tmp_path / 'history.csv'))] == ['epoch', '2']

def test_a_new_budget_after_load_is_a_new_budget(tmp_path):
    "fit_iters(n) after load trains n iterations from epoch 0 (only fit_iters() resumes)"
    a = ts2vec_learner(D['X_train'], seed=0, path=tmp_path, precision='float32', **SMALL)
    with a.no_bar(), a.no_logging(): a.fit_iters(8, cbs=SaveModelCallback(monitor='train_loss', every_epoch=True, fname='ck'))
    a.load('ck_0')
    with a.no_bar(), a.no_logging(): a.fit_iters(8)
    assert a.train_iter == 8 and len(a.recorder.values) == 2

def test_an_error_leaves_no_swapped_loss_or_model():
    "an error inside a fit with IARS given to the fit, or inside get_preds, leaves the learner's own loss and model"
    from fastai.callback.core import Callback
    class Boom(Callback):
        def after_batch(self): raise KeyboardInterrupt
    learn = ts2vec_learner(D['X_train'], seed=0, precision='float32', **SMALL)
    lf, model = learn.loss_func, learn.model
    with pytest.raises(KeyboardInterrupt), learn.no_bar(), learn.no_logging(): learn.fit_iters(3, cbs=[IARS(), Boom()])
    assert learn.loss_func is lf
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(2)                                  # trains on
    with pytest.raises(KeyboardInterrupt), learn.no_bar(): learn.get_preds(dl=learn.dls.test_dl(D['X_test']), cbs=Boom())
    assert learn.model is model
