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
    "A small TS2Vec learner on BasicMotions' training series (the copy bundled in the package), fast enough for tests"
    from tsai.data.core import get_ts_dls
    from hierts_tsai.learner import ts2vec_learner
    from hierts_tsai.data import load_dataset, standardize
    if X is None: X = standardize(load_dataset())['X_train']
    kw = {**SMALL, **kwargs}
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
