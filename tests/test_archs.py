"""Every backbone a tsai user would pretrain (issue 19): the arch table in the docs (benchmarks/archs.json, written by
`hierts_bench archs`) is what the code does: walking tsai's whole arch list, each arch pretrains or gets the error the
table says; archs by class, name and instance are the same arch"""
import json
from pathlib import Path
import numpy as np
import pytest
import torch
from tsai.learner import all_arch_names
from hierts_research.archs import arch_status
from hierts_research.runs import load_spec
from hierts_tsai.learner import ts2vec_learner

TABLE = {r['arch']: r for r in json.loads((Path(__file__).parents[1] / 'benchmarks' / 'archs.json').read_text())}

@pytest.mark.slow
def test_the_arch_table_is_what_the_code_does():
    d = load_spec()[1]
    assert set(TABLE) == set(all_arch_names), set(TABLE) ^ set(all_arch_names)
    for name in dict.fromkeys(all_arch_names):
        learn, err = arch_status(name, d)
        assert (learn is not None, err) == (TABLE[name]['pretrains'], TABLE[name]['error']), name
        if learn is not None: assert np.isfinite([float(l) for l in learn.recorder.losses]).all(), name
    assert TABLE['TSTPlus']['pretrains'] and TABLE['InceptionTimePlus']['pretrains'] and not TABLE['PatchTST']['pretrains']
    assert sum(r['pretrains'] for r in TABLE.values()) >= 14

def test_arch_by_class_name_and_instance_build_the_same_backbone():
    from tsai.models.TSTPlus import TSTPlus
    from tsai.models.utils import build_ts_model
    X = load_spec()[1]['X_train']
    nets = []
    for arch in (TSTPlus, 'TSTPlus', build_ts_model(TSTPlus, c_in=6, c_out=2, seq_len=100)):
        torch.manual_seed(0)
        nets.append(ts2vec_learner(X, arch=arch, repr_dims=16, precision='float32').model)
    assert all(n.seq_len == 100 and n.nan_aware for n in nets)
    assert [k for k, _ in nets[0].backbone.state_dict().items()] == [k for k, _ in nets[2].backbone.state_dict().items()]
    for a, b in zip(nets[0].state_dict().values(), nets[1].state_dict().values()): torch.testing.assert_close(a, b)   # the same init

def test_a_transformer_pretrains_and_transfers(tmp_path):
    "TSTPlus: crops padded to its length, representations of any length, weights that tsai's TSTPlus classifier loads"
    from tsai.data.core import get_ts_dls
    from tsai.data.preprocessing import TSClassification
    from hierts_tsai.transfer import transfer_learner
    d = load_spec()[1]
    learn = ts2vec_learner(d['X_train'], arch='TSTPlus', repr_dims=32, seed=0, precision='float32')
    with learn.no_bar(), learn.no_logging(): learn.fit_iters(6)
    assert np.isfinite(learn.encode(np.concatenate([d['X_test'], d['X_test']], -1))).all()   # 200 timestamps: two windows of 100
    p = learn.save_encoder(tmp_path / 'tst.pth')
    dls = get_ts_dls(np.concatenate([d['X_train'], d['X_test']]), np.concatenate([d['y_train'], d['y_test']]),
                     splits=(list(range(40)), list(range(40, 80))), tfms=[None, TSClassification()], bs=8)
    clf = transfer_learner(dls, p, arch='TSTPlus')
    src = learn.encoder_model().backbone.state_dict()
    for k, v in clf.model.backbone.state_dict().items(): torch.testing.assert_close(v.cpu(), src[k])
