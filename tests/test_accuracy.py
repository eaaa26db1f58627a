"""Accuracy tests that can fail (issue 21): each is paired with its control, the same protocol on an untrained encoder of
the same seed, and asserts a threshold the trained encoder passes and the control fails. BasicMotions cannot tell
training from no training (an untrained TS2Vec encoder scores 0.95-0.975 there); the set here can: series whose three
classes differ only in a periodic pattern of spikes seen after pooling by 4 (`resolution_dataset`, level 2)."""
import numpy as np
import pytest
from tsai.data.preprocessing import TSStandardize
from hierts_tsai.learner import ts2vec_learner, pretrain
from hierts_tsai.iars import IARS
from hierts_tsai.data import resolution_dataset, standardize
from hierts_tsai.evaluate import eval_classification

D = standardize(resolution_dataset(256, level=2, periods=(2, 4, 8), n_train=48, n_test=48, seed=0))
THRESHOLD = 0.90   # measured (TS2Vec's encoder, default precision, IARS, 100 iterations): 0.98 and 1.00 on seeds 0 and 1; untrained: 0.81 on both
ITERS = 100

def svm_accuracy(learn, d=D, swa=None):
    return eval_classification(learn.encode(d['X_train'], swa=swa), d['y_train'], learn.encode(d['X_test'], swa=swa), d['y_test'])['acc']

@pytest.fixture(scope='module')
def control():
    "The same protocol on the untrained encoder of the same seed (its random weights, frozen)"
    return svm_accuracy(ts2vec_learner(D['X_train'], seed=0), swa=False)

@pytest.mark.slow
@pytest.mark.parametrize('mode', ['full', 'iars', 'iars-p10'])
def test_accuracy_beats_the_untrained_control(mode, control):
    learn = pretrain(D['X_train'], ITERS, cbs=IARS(mode), seed=0)
    acc = svm_accuracy(learn)
    assert acc >= THRESHOLD > control, f"{mode}: trained {acc:.3f}, untrained control {control:.3f}, threshold {THRESHOLD}"

@pytest.mark.slow
def test_accuracy_through_per_sample_standardisation():
    "each series scaled and shifted at random; TSStandardize(by_sample=True) in the DataLoaders undoes it for training and encoding alike"
    g = np.random.default_rng(1)
    raw = {**D, 'X_train': D['X_train'] * g.uniform(1, 20, (48, 1, 1)) + g.uniform(-50, 50, (48, 1, 1)),
           'X_test': D['X_test'] * g.uniform(1, 20, (48, 1, 1)) + g.uniform(-50, 50, (48, 1, 1))}
    raw = {k: v.astype(np.float32) if k.startswith('X') else v for k, v in raw.items()}
    tfm = TSStandardize(by_sample=True, by_var=True)
    control = svm_accuracy(ts2vec_learner(raw['X_train'], batch_tfms=tfm, seed=0), raw, swa=False)
    learn = pretrain(raw['X_train'], ITERS, batch_tfms=tfm, cbs=IARS(), seed=0)
    np.testing.assert_allclose(learn.encode(raw['X_test']), learn.encode(raw['X_test'] * 3 + 7), atol=1e-4, rtol=1e-4)
    acc = svm_accuracy(learn, raw)
    assert acc >= THRESHOLD > control, f"trained {acc:.3f}, untrained control {control:.3f}, threshold {THRESHOLD}"
