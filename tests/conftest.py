import os, warnings
from pathlib import Path
import numpy as np
import pytest

DATA = Path(os.environ.get('HIERTS_SHARED_DATA', Path(__file__).resolve().parents[1].parent / 'shared' / 'data'))

def shared_npz(name):
    "Arrays of a dataset in ../shared/data; skip the test when the folder is not there"
    p = DATA / f'{name}.npz'
    if not p.exists(): pytest.skip(f'{p} not found (set HIERTS_SHARED_DATA to the folder holding the npz files)')
    return dict(np.load(p))

SMALL = dict(arch_config=dict(depth=2, hidden=16), repr_dims=32)

def small_learner(X=None, bs=8, seed=0, **kwargs):
    """A small TS2Vec learner on BasicMotions' training series (the copy bundled in the package), fast enough for tests;
    float32 unless `precision=` says otherwise (the default 'auto' trains under bfloat16 autocast on a CPU that computes it,
    and tests that compare exact numbers need float32)"""
    from tsai.data.core import get_ts_dls
    from hierts_tsai.learner import ts2vec_learner
    from hierts_tsai.data import load_dataset, standardize
    if X is None: X = standardize(load_dataset())['X_train']
    kw = {'precision': 'float32', **SMALL, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return ts2vec_learner(get_ts_dls(X, bs=bs), seed=seed, **kw)

def quiet_fit(learn, n_iters, **kwargs):
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(n_iters, **kwargs)
    return learn

def pytest_collection_modifyitems(config, items):
    "`gpu` tests run where CUDA exists and are skipped, saying so, elsewhere"
    import torch
    if torch.cuda.is_available(): return
    skip = pytest.mark.skip(reason='needs a CUDA GPU (none on this machine)')
    for item in items:
        if 'gpu' in item.keywords: item.add_marker(skip)

def window_starts(row, series):
    "Where `row` (channels, L) is a window of `series` (channels, T), NaN equal to NaN: the list of start indices"
    row, series = np.asarray(row), np.asarray(series)
    L, T = row.shape[-1], series.shape[-1]
    return [s for s in range(T - L + 1) if np.array_equal(series[:, s:s + L], row, equal_nan=True)]

def batches_seen():
    """A callback recording, at every training step, the prepared batch the views are drawn from (`prepared`: what
    `TS2VecViews`'s `TS2VecPrep` returned) and the two views the model receives (`views`: `learn.xb[:2]`)"""
    from fastai.callback.core import Callback
    from hierts_tsai.callbacks import TS2VecViews

    class Batches(Callback):
        order = 1 # `before_batch` after `TS2VecViews` (0), which makes `xb` the views
        def before_fit(self):
            self.prepared, self.views = [], []
            self.prep = next(cb for cb in self.learn.cbs if isinstance(cb, TS2VecViews)).prep
            orig, rec = type(self.prep).prepare, self
            def spy(x, rng=None):
                out = orig(rec.prep, x, rng)
                if rec.learn.training: rec.prepared.append(out.detach().cpu().numpy().copy())
                return out
            self.prep.prepare = spy
        def before_batch(self):
            if self.training: self.views.append(tuple(v.detach().cpu().numpy().copy() for v in self.learn.xb[:2]))
        def after_fit(self): del self.prep.prepare
    return Batches()
