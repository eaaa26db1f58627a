"""The behaviour the architecture change kept: a short seeded trajectory recorded with the code before it (commit
e2a8a89, `tests/data/trajectory_before.json`: per-step losses, IARS levels, encodings of 4 BasicMotions test series),
with TS2Vec's exact crops (`crops='exact'`, the switch off the grid)"""
import json
from pathlib import Path
import numpy as np
import pytest
from fastai.callback.core import Callback
from conftest import small_learner
from hierts_tsai.iars import IARS, Importance
from hierts_tsai.data import load_dataset, standardize

BEFORE = json.loads((Path(__file__).parent / 'data' / 'trajectory_before.json').read_text())

class Trace(Callback):
    order = 90
    def before_fit(self): self.ls = []
    def after_batch(self):
        if self.training: self.ls.append(float(self.learn.loss.detach()))

# `mapping='depth'` and `candidates='all'` are what IARS did before the reference's resolution identity became the default
@pytest.mark.parametrize('name,cbs', [('full', lambda: []), ('iars', lambda: [IARS(Importance(mapping='depth', candidates='all'))])])
def test_seeded_trajectory_is_unchanged(name, cbs):
    ref, tr, cb = BEFORE[name], Trace(), cbs()
    learn = small_learner(cbs=cb + [tr], seed=0, crops='exact') # TS2Vec's exact crops (the default; `crops='grid'` draws others)
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(20)
    if cb: assert cb[0].history['level'] == ref['level'] and cb[0].history['n_levels'] == ref['n_levels']
    np.testing.assert_allclose(tr.ls, ref['loss'], rtol=1e-5)
    enc = learn.encode(standardize(load_dataset())['X_test'][:4])
    np.testing.assert_allclose(enc, np.array(ref['encoding']), rtol=1e-4, atol=1e-5)
