"Transfer: pretrained backbones load completely into tsai classifiers, mismatches fail clearly, fastai idioms work"
import numpy as np
import pytest
import torch
from conftest import small_learner, quiet_fit
from tsai.data.core import get_ts_dls
from tsai.data.preprocessing import TSClassification
from tsai.learner import ts_learner
import tsai.inference  # Learner.get_X_preds
from fastai.learner import load_learner
from hierts_tsai.data import load_dataset, standardize
from hierts_tsai.encoder import TS2VecEncoder
from hierts_tsai.transfer import transfer_learner, check_weights

D = standardize(load_dataset())

def cls_dls(X=None, bs=8):
    X = D['X_train'] if X is None else X
    Xall = np.concatenate([X, D['X_test'][:, :X.shape[1]]])
    y = np.concatenate([D['y_train'], D['y_test']])
    return get_ts_dls(Xall, y, splits=(list(range(40)), list(range(40, 80))), tfms=[None, TSClassification()], bs=bs)

@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    learn = quiet_fit(small_learner(), 5)
    path = tmp_path_factory.mktemp('w') / 'enc.pth'
    learn.save_encoder(path)
    return learn, path

CFG = dict(depth=2, hidden=16, repr_dims=32)

def test_backbone_from_file_head_not(saved):
    learn, path = saved
    sd = torch.load(path, weights_only=True)
    assert sd and not any('head' in k for k in sd)
    torch.manual_seed(7); fresh = ts_learner(cls_dls(), TS2VecEncoder, arch_config=CFG)
    torch.manual_seed(7); clf = transfer_learner(cls_dls(), path, arch_config=CFG)
    for k, v in clf.model.backbone.state_dict().items(): torch.testing.assert_close(v.cpu(), sd['backbone.' + k])
    torch.testing.assert_close(clf.model.backbone.state_dict()['input_fc.weight'].cpu(),
                               learn.swa_model.module.backbone.input_fc.weight.detach())
    for k, v in clf.model.head.state_dict().items(): torch.testing.assert_close(v, fresh.model.head.state_dict()[k])  # fresh init

def test_plain_ts_learner_loads_everything(saved, capsys):
    _, path = saved
    clf = ts_learner(cls_dls(), TS2VecEncoder, arch_config=CFG, pretrained=True, weights_path=path)
    out = capsys.readouterr().out
    assert 'successfully transferred' in out and 'unmatched' not in out

def test_other_channel_count_raises_clear_error(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r'backbone.input_fc.weight \(16, 6, 1\) in the file, \(16, 3, 1\) in the model'):
        transfer_learner(cls_dls(D['X_train'][:, :3]), path, arch_config=CFG)

def test_other_repr_dims_and_arch_raise(saved):
    from tsai.models.ResNetPlus import ResNetPlus
    _, path = saved
    with pytest.raises(ValueError, match='shapes differ'): transfer_learner(cls_dls(), path, arch_config={**CFG, 'repr_dims': 64})
    with pytest.raises(ValueError, match='missing from the file'): transfer_learner(cls_dls(), path, arch=ResNetPlus)

@pytest.mark.parametrize('arch_name', ['InceptionTimePlus', 'ResNetPlus'])
def test_tsai_archs_transfer_every_weight(arch_name, tmp_path):
    import tsai.models.all as M
    arch = getattr(M, arch_name)
    learn = quiet_fit(small_learner(arch=arch, arch_config={}), 3)
    path = learn.save_encoder(tmp_path / 'w.pth')
    clf = transfer_learner(cls_dls(), path, arch=arch)
    n = check_weights(clf.model, path)
    src = learn.swa_model.module.backbone.state_dict()
    got = clf.model.backbone.state_dict()
    assert n > 10 and set(got) == set(src)
    for k in src: torch.testing.assert_close(got[k].cpu(), src[k].cpu())

def test_freeze_unfreeze_and_discriminative_lr(saved):
    _, path = saved
    clf = transfer_learner(cls_dls(), path, arch_config=CFG)
    assert len(clf.opt.param_groups) == 2
    assert not any(p.requires_grad for p in clf.model.backbone.parameters())
    assert all(p.requires_grad for p in clf.model.head.parameters())
    before = [p.detach().clone() for p in clf.model.backbone.parameters()]
    with clf.no_bar(), clf.no_logging(): clf.fit(1, 1e-3)
    for a, b in zip(before, clf.model.backbone.parameters()): torch.testing.assert_close(a, b.detach())   # frozen
    clf.unfreeze()
    with clf.no_bar(), clf.no_logging(): clf.fit(1, slice(1e-5, 1e-3))
    lrs = [g['lr'] for g in clf.opt.hypers]
    assert lrs[0] < lrs[1]
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, clf.model.backbone.parameters()))

def test_export_load_learner_round_trip(saved, tmp_path):
    _, path = saved
    clf = transfer_learner(cls_dls(), path, arch_config=CFG)
    with clf.no_bar(), clf.no_logging(): clf.fine_tune(1, 1e-3)
    clf.export(tmp_path / 'clf.pkl')
    loaded = load_learner(tmp_path / 'clf.pkl', cpu=True)
    X = D['X_test'][:10]
    p1 = clf.get_X_preds(X, with_decoded=False)[0]
    p2 = loaded.get_X_preds(X, with_decoded=False)[0]
    torch.testing.assert_close(p1, p2)
