"The baselines harness compares fairly: trivial baselines, standardised regression targets, one lr budget, distinct regimes, the table's resolution and Holm family, each lever against its default"
import numpy as np
import pytest
from hierts_research.baselines import (BASELINE_METHODS, DEFAULT_LR, LEVERS, LR_GRID, SOFT_TAU, applies, baselines, baselines_table, block_scaler,
                                       choose_lr, cv_folds, freeze_epochs, label_regimes, lever_table, pretraining_of, target_scaler,
                                       score_predictions, trivial, unique_regimes)
from hierts_research.cli import bench_parser

def test_trivial_baselines():
    "mean of the labelled targets (per column), most frequent labelled class with ties to the smallest label"
    X = np.zeros((3, 1, 4))
    assert list(trivial(np.array(['b', 'a', 'b', 'a', 'c']), False)(X)) == ['a', 'a', 'a']
    np.testing.assert_allclose(trivial(np.array([[1., 10.], [3., 30.]]), True)(X), [[2., 20.]] * 3)
    assert applies('mean', True) and not applies('mean', False) and applies('majority', False) and not applies('majority', True)

def test_targets_standardised_and_scored_in_raw_units():
    to_z, to_y = target_scaler(np.array([0.01, 0.03, 0.05]))
    np.testing.assert_allclose(to_z([0.01, 0.05]), [-np.sqrt(1.5), np.sqrt(1.5)], rtol=1e-5)
    np.testing.assert_allclose(to_y(to_z([0.02])), [0.02], rtol=1e-5)
    s = score_predictions(np.array([1., 2., 3.]), np.array([2., 2., 2.]), True)
    assert s['metric'] == 'rmse' and np.isclose(s['score'], np.sqrt(2 / 3)) and np.isclose(s['r2'], 0.)
    two = score_predictions(np.array([[1., 0.], [3., 2.]]), np.array([[1., 1.], [3., 1.]]), True)   # R² averaged over the targets
    assert np.isclose(two['r2'], (1. + 0.) / 2)

def test_choose_lr_folds_and_default():
    X, y = np.zeros((12, 1, 8)), np.array([0, 1] * 6)
    X[:, 0, 0] = y
    right_at = lambda good: (lambda Xt, yt, lr: (lambda A: A[:, 0, 0].astype(int) if lr == good else np.zeros(len(A), int)))
    assert choose_lr(right_at(3e-2), X, y, False, 0) == (3e-2, '5-fold CV over 4 lrs')
    lr, how = choose_lr(right_at(3e-2), X[:3], np.array([0, 1, 1]), False, 0)
    assert lr == DEFAULT_LR and how.startswith('default')
    assert len(cv_folds(np.arange(4.), True, 0)) == 4 and len(cv_folds(np.arange(140.), True, 0)) == 5
    assert len(cv_folds(np.repeat([0, 1], 3), False, 0)) == 3                        # k = the smallest class count
    assert len(LR_GRID) == 4

def test_regimes_that_select_the_same_series_are_kept_once():
    y = np.repeat(list('abcd'), 10)                                                 # BasicMotions: 10% is one per class
    assert list(unique_regimes(label_regimes(y, False, 0))) == ['1/class', '100%']

def _row(m, seed, score, regime='100%'):
    return dict(dataset='D', labels=regime, n_labels=40, method=m, seed=seed, n_test=40, score=score, metric='acc', fit_s=1., pretrain_s=2.)

def test_table_states_resolution_and_holm_family():
    rows = [_row(m, s, v + 0.01 * s) for s in range(3) for m, v in (('iars-frozen', .9), ('minirocket', .95), ('majority', .25))]
    t = baselines_table(rows)
    assert '40 test series: 1 series = 0.025 acc' in t and 'Holm over 2 comparisons' in t and '| 2.0 |' in t

def test_unknown_method_and_cli_options():
    with pytest.raises(ValueError, match='unknown method'): baselines(['BasicMotions'], 1, methods=['scratch'])
    a = bench_parser().parse_args(['baselines', '--data', 'x.npz', '--methods', 'mean,scratch-ts2vec,iars-finetune', '--epochs', '5', '--lrs', '1e-3,1e-2'])
    assert a.methods == ['mean', 'scratch-ts2vec', 'iars-finetune'] and a.epochs == 5 and a.lrs == [1e-3, 1e-2]
    assert set(a.methods) <= set(BASELINE_METHODS) and {'scratch-inceptiontimeplus', 'mvp-frozen', 'multirocket'} <= set(BASELINE_METHODS)

def test_levers_are_methods_with_their_pretraining():
    assert set(LEVERS) <= set(BASELINE_METHODS) and set(LEVERS.values()) <= set(BASELINE_METHODS) and SOFT_TAU == 1.
    got = {m: pretraining_of(m) for m in ('minirocket+iars-frozen', 'iars-soft-frozen', 'iars-soft-finetune', 'iars-finetune-tuned',
                                          'full-frozen', 'mvp-finetune', 'untrained', 'scratch-ts2vec', 'minirocket', 'mean')}
    assert got == {'minirocket+iars-frozen': 'iars', 'iars-soft-frozen': 'iars-soft', 'iars-soft-finetune': 'iars-soft', 'iars-finetune-tuned': 'iars',
                   'full-frozen': 'full', 'mvp-finetune': 'mvp', 'untrained': 'untrained', 'scratch-ts2vec': None, 'minirocket': None, 'mean': None}
    assert [freeze_epochs(e) for e in (1, 3, 5, 25)] == [1, 1, 1, 5]

def test_block_scaler_concatenates_with_equal_shares():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 5, (8, 30)), rng.normal(0, 1e-3, (8, 2))
    scale = block_scaler([a, b])
    z = scale([a, b])
    assert z.shape == (8, 32) and np.isclose(z[:, :30].var(0).sum(), 16, rtol=1e-4) and np.isclose(z[:, 30:].var(0).sum(), 16, rtol=1e-4)
    assert scale([a[:3], b[:3]]).shape == (3, 32)                                     # fitted once, applied to other series

def test_lever_table_pairs_each_lever_with_its_default():
    rows = [_row(m, s, v + (0.01 * s if m == 'iars-finetune' else 0.), g) for g in ('1/class', '100%') for s in range(3)
            for m, v in (('iars-finetune', .7), ('iars-finetune-tuned', .75), ('iars-frozen', .8), ('minirocket', .9))]
    t = lever_table(rows)
    assert 'Holm over 2 lever comparisons' in t and t.count('| iars-finetune-tuned | iars-finetune |') == 2
    assert '| +0.040 [' in t and 'minirocket+iars-frozen' not in t                 # .75 − (.70 + .01): the paired mean difference
    both = baselines_table(rows)
    assert both.endswith(t) and 'Holm over 4 comparisons' in both and '| iars-finetune-tuned |' not in both.split(t)[0]
    assert '| iars-finetune-tuned |' in baselines_table(rows, levers=None)           # no levers: every method in one table
