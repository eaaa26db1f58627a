"""bfloat16 where the processor computes it and it is faster (issue 23): the default follows the capability check and
the series' length, the switch overrides both, the encoder really computes in bfloat16 then, and what is encoded stays
float32"""
import numpy as np
import pytest
import torch
from conftest import SMALL
import hierts_tsai.callbacks as callbacks
from hierts_tsai.callbacks import Autocast, choose_precision
from hierts_tsai.learner import ts2vec_learner
from hierts_tsai.data import load_dataset, standardize

X = standardize(load_dataset())['X_train']

@pytest.mark.parametrize('native,amx,T,crops,expected', [(True, True, 300, 'grid', 'bfloat16'), (True, True, 300, 'exact', 'float32'),
                                                         (True, True, 100, 'grid', 'float32'), (False, False, 300, 'grid', 'float32'),
                                                         (True, False, 300, 'grid', 'float32')],
                         ids=['AMX, grid, long series', 'AMX, exact crops (measured no faster)', 'AMX, short series', 'not native',
                              'AVX512-BF16 without AMX (measured slower)'])
def test_bfloat16_only_where_the_capability_check_the_crops_and_the_length_say_so(monkeypatch, native, amx, T, crops, expected):
    monkeypatch.setattr(callbacks, 'cpu_computes_bf16', lambda: native)
    monkeypatch.setattr(callbacks, 'cpu_has_amx', lambda: amx)
    X = np.random.default_rng(0).standard_normal((16, 2, T)).astype(np.float32)
    learn = ts2vec_learner(X, crops=crops, device='cpu', **SMALL)
    assert learn.precision == expected and any(isinstance(cb, Autocast) for cb in learn.cbs) == (expected == 'bfloat16')
    assert ts2vec_learner(X, max_train_length=200, crops='grid', device='cpu', **SMALL).precision == 'float32'  # the window is what the crops reach
    for asked in ('float32', 'bfloat16'):                                            # the switch overrides both
        forced = ts2vec_learner(X, precision=asked, **SMALL)
        assert forced.precision == asked and any(isinstance(cb, Autocast) for cb in forced.cbs) == (asked == 'bfloat16')
    with pytest.raises(ValueError, match='needs a CUDA device'): choose_precision('float16', 'cpu')

def test_bfloat16_training_computes_in_bfloat16_and_encodes_in_float32():
    learn = ts2vec_learner(X, seed=0, precision='bfloat16', **SMALL)
    seen = set()
    learn.model.backbone.feature_extractor[0].conv1.conv.register_forward_hook(lambda m, i, o: seen.add(o.dtype))
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(3)
    assert seen == {torch.bfloat16} and np.isfinite([float(l) for l in learn.recorder.losses]).all()
    seen.clear()
    z = learn.encode(X[:4])
    assert z.dtype == np.float32 and seen == {torch.float32}
    assert learn.describe_precision().startswith('bfloat16 autocast')

def test_a_second_autocast_leaves_no_autocast_behind():
    "`cbs=[Autocast()]` beside the learner's own bfloat16 autocast: one opens it, and after the fit CPU autocast is off, so later encodes are float32"
    learn = ts2vec_learner(X, seed=0, precision='bfloat16', cbs=[Autocast()], **SMALL)
    assert sum(isinstance(cb, Autocast) for cb in learn.cbs) == 2
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(3)
    assert not torch.is_autocast_enabled('cpu')
    other = ts2vec_learner(X, seed=0, precision='float32', **SMALL)
    assert other.encode(X[:2]).dtype == np.float32 and torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32

def test_oneDNN_limited_below_AMX_hides_it(monkeypatch):
    "`ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16` keeps oneDNN off the AMX tiles: 'auto' then trains in float32"
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX512_CORE_BF16')
    assert not callbacks.cpu_has_amx() and choose_precision('auto', 'cpu', 1000, grid=True)[0] == 'float32'

@pytest.mark.parametrize('crops', ['grid', None])
def test_grid_crops_give_grid_lengths_and_the_default_gives_TS2Vecs(crops):
    "`crops='grid'`: every view the model sees is a multiple of `crop_step(T)` long; the default: TS2Vec's exact lengths"
    from hierts_tsai.augment import crop_step
    Xl = np.random.default_rng(0).standard_normal((16, 2, 400)).astype(np.float32)
    learn = ts2vec_learner(Xl, seed=0, precision='float32', device='cpu', **({} if crops is None else dict(crops=crops)), **SMALL)
    seen = []
    learn.model.register_forward_pre_hook(lambda m, args: seen.extend(a.shape[-1] for a in args[:2]))
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(12)
    q = crop_step(400)
    assert learn.grid == (crops == 'grid') and q == 32 and len(seen) == 24
    on_grid = all(L % q == 0 for L in seen)
    assert on_grid if crops == 'grid' else not on_grid
    assert ('on a grid' in learn.describe_precision()) == (crops == 'grid')
    with pytest.raises(ValueError, match="crops"): ts2vec_learner(Xl, crops='auto', **SMALL)
