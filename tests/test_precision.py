"""bfloat16 where the processor computes it (issue 23): the default follows the capability check, the switch overrides
it, the encoder really computes in bfloat16 then, and what is encoded stays float32"""
import numpy as np
import pytest
import torch
from conftest import SMALL
import hierts_tsai.callbacks as callbacks
from hierts_tsai.callbacks import Autocast, default_precision, resolve_precision
from hierts_tsai.learner import ts2vec_learner
from hierts_tsai.data import load_dataset, standardize

X = standardize(load_dataset())['X_train']

@pytest.mark.parametrize('native', [True, False])
def test_bfloat16_only_where_the_capability_check_says_so_and_the_switch_overrides(monkeypatch, native):
    monkeypatch.setattr(callbacks, 'cpu_computes_bf16', lambda: native)
    assert default_precision('cpu') == ('bfloat16' if native else 'float32')
    for asked, expected in (('auto', 'bfloat16' if native else 'float32'), ('float32', 'float32'), ('bfloat16', 'bfloat16')):
        learn = ts2vec_learner(X, precision=asked, **SMALL)
        assert learn.precision == expected
        assert [type(cb) for cb in learn.cbs if isinstance(cb, Autocast)] == ([Autocast] if expected == 'bfloat16' else [])
    with pytest.raises(ValueError, match='needs a CUDA device'): resolve_precision('float16', 'cpu')

def test_bfloat16_training_computes_in_bfloat16_and_encodes_in_float32(monkeypatch):
    monkeypatch.setattr(callbacks, 'cpu_computes_bf16', lambda: True)
    learn = ts2vec_learner(X, seed=0, **SMALL)
    seen = set()
    learn.model.backbone.feature_extractor[0].conv1.conv.register_forward_hook(lambda m, i, o: seen.add(o.dtype))
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(3)
    assert seen == {torch.bfloat16} and np.isfinite([float(l) for l in learn.recorder.losses]).all()
    seen.clear()
    z = learn.encode(X[:4])
    assert z.dtype == np.float32 and seen == {torch.float32}
    assert learn.describe_precision().startswith('bfloat16 autocast')
