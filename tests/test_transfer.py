"Transfer: pretrained backbones load completely into tsai classifiers and regressors, mismatches fail clearly, fastai idioms work"
import numpy as np
import pytest
import torch
from conftest import small_learner, quiet_fit, SMALL
from tsai.data.core import get_ts_dls
from tsai.data.preprocessing import TSClassification, TSRegression
from tsai.learner import ts_learner
import tsai.inference  # Learner.get_X_preds
from fastai.learner import load_learner
from hierts_tsai.data import load_dataset, standardize
from hierts_tsai.encoder import TS2VecEncoder
from hierts_tsai.transfer import transfer_learner, check_weights, SaveEncoderWeights

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

def _same_backbone(model, path):
    sd = torch.load(path, weights_only=True)
    for k, v in model.backbone.state_dict().items(): torch.testing.assert_close(v.cpu(), sd['backbone.' + k])

def test_tsai_classifier_and_regressor_load_the_file(saved):
    "tsai's own scikit-learn-style learners load the file with pretrained=True"
    from tsai.tslearner import TSClassifier, TSRegressor
    _, path = saved
    X = np.concatenate([D['X_train'], D['X_test']])
    splits = (list(range(40)), list(range(40, 80)))
    clf = TSClassifier(X, np.concatenate([D['y_train'], D['y_test']]), splits=splits, tfms=[None, TSClassification()],
                       arch=TS2VecEncoder, arch_config=CFG, pretrained=True, weights_path=path, bs=8)
    _same_backbone(clf.model, path)
    reg = TSRegressor(X, X[:, 0].mean(-1), splits=splits, tfms=[None, TSRegression()], arch=TS2VecEncoder, arch_config=CFG, pretrained=True, weights_path=path, bs=8)
    _same_backbone(reg.model, path)
    assert reg.model(reg.dls.one_batch()[0]).shape == (8, 1)

def test_save_encoder_weights_writes_the_best_and_the_last_epoch(tmp_path):
    "with a validation set: the best validation loss's encoder and the final one; without: the final one only"
    from fastai.callback.core import Callback
    class Record(Callback):
        order = 62
        def before_fit(self): self.valid, self.files = [], []
        def after_epoch(self):
            self.valid.append(self.learn.recorder.values[-1][1])
            best = tmp_path / 'm' / 'enc_best.pth'
            self.files.append(torch.load(best, weights_only=True)['backbone.input_fc.weight'].clone() if best.exists() else None)
    from hierts_tsai.learner import ts2vec_learner
    dls = get_ts_dls(D['X_train'], splits=(list(range(32)), list(range(32, 40))), bs=8)
    rec = Record()
    learn = ts2vec_learner(dls, cbs=[SaveEncoderWeights('m/enc.pth'), rec], path=tmp_path, seed=0, **SMALL)
    with learn.no_bar(), learn.no_logging(): learn.fit(4, 1e-2)
    best = int(np.argmin(rec.valid))
    torch.testing.assert_close(torch.load(tmp_path / 'm' / 'enc_best.pth', weights_only=True)['backbone.input_fc.weight'], rec.files[best])
    _same_backbone(learn.swa_model.module, tmp_path / 'm' / 'enc.pth')
    learn2 = small_learner(cbs=SaveEncoderWeights('n/enc.pth'), path=tmp_path)
    quiet_fit(learn2, 3)
    assert (tmp_path / 'n' / 'enc.pth').exists() and not (tmp_path / 'n' / 'enc_best.pth').exists()

def test_regression_fine_tunes(saved):
    "a regression head trained on a pretrained backbone lowers its validation loss"
    _, path = saved
    X = np.concatenate([D['X_train'], D['X_test']])
    y = X[:, 0].mean(-1).astype(np.float32)
    dls = get_ts_dls(X, y, splits=(list(range(40)), list(range(40, 80))), tfms=[None, TSRegression()], bs=8)
    reg = transfer_learner(dls, path, arch_config=CFG, freeze=False, seed=0)
    before = reg.validate()[0]
    with reg.no_bar(), reg.no_logging(): reg.fit_one_cycle(10, 1e-3)
    assert reg.validate()[0] < before

def test_unlabelled_dls_and_a_learner_without_an_encoder_are_refused(saved, tmp_path):
    "fine-tuning needs targets; SaveEncoderWeights needs a learner that can save an encoder (a TS2VecLearner)"
    _, path = saved
    with pytest.raises(ValueError, match='these DataLoaders have no labels'): transfer_learner(get_ts_dls(D['X_train'], bs=8), path, arch_config=CFG)
    clf = ts_learner(cls_dls(), TS2VecEncoder, arch_config=CFG, cbs=SaveEncoderWeights('m/enc.pth'), path=tmp_path)
    with pytest.raises(ValueError, match='has no `save_encoder`'), clf.no_bar(), clf.no_logging(): clf.fit(1)
    assert not (tmp_path / 'm').exists()

def test_files_by_name_follow_fastai(saved, tmp_path, monkeypatch):
    "`save_encoder('enc')` writes `models/enc.pth` as fastai's `save` does, and `transfer_learner` finds it by that path or by the name"
    learn, _ = saved
    monkeypatch.chdir(tmp_path)
    written = learn.save_encoder('enc')
    assert written == learn.path / 'models' / 'enc.pth' and (tmp_path / 'models' / 'enc.pth').exists()
    for given in ('models/enc.pth', 'enc'):
        clf = transfer_learner(cls_dls(), given, arch_config=CFG)
        torch.testing.assert_close(clf.model.backbone.state_dict()['input_fc.weight'].cpu(),
                                   learn.swa_model.module.backbone.input_fc.weight.detach())
    with pytest.raises(ValueError, match='no weights file at models/other.pth'): transfer_learner(cls_dls(), 'other', arch_config=CFG)
