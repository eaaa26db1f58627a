"""TS2Vec's anomaly detection (issue 28): masked-timestamp scores peak at anomalies, thresholds and tuning see the train part
only, point-adjusted F1 and AUPRC on hand-computed cases, TS2Vec's delay walk, streaming equals batch scoring, save/load,
bad input refused with the package's own errors, and one end-to-end run on the Yahoo series"""
import traceback
import numpy as np
import pytest
import torch
from conftest import shared_npz
import hierts_tsai.anomaly as anomaly
from hierts_tsai.anomaly import (anomaly_split, adf_differences, anomaly_scores, masked_errors, adjust_scores, trailing_mean,
    anomaly_threshold, suppress_flags, flag_scores, coldstart_flags, point_adjust, anomaly_metrics, anomaly_auprc, on_time_grid,
    AnomalyDetector, evaluate_anomaly, evaluate_anomaly_coldstart, zscore_baseline, iforest_baseline, rolling_zscores, plot_anomalies)
from hierts_tsai.encode import causal_encode
from hierts_tsai.encoder import contrastive_model
from hierts_tsai.learner import pretrain

TINY = dict(arch_config=dict(depth=3, hidden=16), repr_dims=32, precision='float32', seed=0)
WAVE = np.sin(2 * np.pi * np.arange(800) / 25).astype(np.float32)
SPIKE = 300

def ours(e:BaseException)->bool:
    "Whether `e` is a ValueError raised by this package's own code"
    return isinstance(e, ValueError) and 'hierts_tsai' in traceback.extract_tb(e.__traceback__)[-1].filename

@pytest.fixture(scope='module')
def net():
    "A small encoder pretrained briefly on windows of a sinusoid"
    X = np.stack([WAVE[i * 40:i * 40 + 200] for i in range(8)])[:, None]
    return pretrain(X, n_iters=30, **TINY).encoder_model()

def spiky(c=1):
    x = np.stack([WAVE[:400]] * c).copy(); x[-1, SPIKE] += 4.
    return x

# ------------------------------------------------------------------------------------------------------------- scores
def test_the_score_peaks_at_an_injected_spike(net):
    sc = anomaly_scores(net, spiky()[0], padding=50)
    assert sc.shape == (400,) and np.isnan(sc[:21]).all() and np.isfinite(sc[21:]).all()
    assert abs(int(np.nanargmax(sc)) - SPIKE) <= 2
    assert abs(int(np.nanargmax(anomaly_scores(net, spiky()[0], padding=50, window=None))) - SPIKE) <= 2 # raw errors too

def test_the_spike_check_fails_for_broken_scorers(net, monkeypatch):
    "the check above tells a scorer that looks 3 steps late, and one that ignores the mask, from the right one"
    late = lambda n, x, padding=200, bs=256, mask_last=False: torch.roll(causal_encode(n, x, padding, bs, mask_last), 3, -1)
    monkeypatch.setattr(anomaly, 'causal_encode', late)
    assert abs(int(np.nanargmax(anomaly_scores(net, spiky()[0], padding=50))) - SPIKE) > 2
    blind = lambda n, x, padding=200, bs=256, mask_last=False: causal_encode(n, x, padding, bs, False)
    monkeypatch.setattr(anomaly, 'causal_encode', blind)
    with pytest.raises(ValueError, match='are all 0'): anomaly_scores(net, spiky()[0], padding=50) # no score at all

def test_errors_are_the_l1_distance_of_the_masked_and_seen_last_representation(net):
    x = spiky()[None].astype(np.float32)
    xp = torch.from_numpy(np.pad(x, ((0, 0), (0, 0), (50, 0)), constant_values=np.nan)) # TS2Vec's windows: NaN on the left
    z = lambda m: torch.stack([net.embed(xp[..., t:t + 51], torch.tensor([[True] * 50 + [not m]]))[..., -1] for t in range(60)], -1)
    was = net.training; net.eval()
    with torch.no_grad(): ref = (z(True) - z(False)).abs().sum(1)[0].numpy()
    net.train(was)
    np.testing.assert_allclose(masked_errors(net, x, padding=50)[0, :60], ref, rtol=1e-4, atol=1e-5)

def test_several_series_and_several_channels(net):
    X = np.stack([spiky()[0], WAVE[:400]])[:, None]
    assert anomaly_scores(net, X, padding=50).shape == (2, 400)
    net2 = pretrain(np.stack([np.stack([WAVE[i * 40:i * 40 + 200], -WAVE[i * 40:i * 40 + 200]]) for i in range(8)]), n_iters=20, **TINY).encoder_model()
    x2 = np.stack([WAVE[:400], -WAVE[:400]]); x2[1, SPIKE] += 4.
    sc = anomaly_scores(net2, x2, padding=50)
    assert sc.shape == (400,) and abs(int(np.nanargmax(sc)) - SPIKE) <= 2
    det = AnomalyDetector(net2, padding=50).fit(x2[:, :250])
    assert det.flags(x2[:, 250:])[SPIKE - 250] == 1

def test_missing_values_are_hidden_and_long_runs_refused(net):
    x = spiky()[0]; x[100:105] = np.nan
    err = anomaly_scores(net, x, padding=50, window=None)
    assert (err[100:105] == 0).all() and np.isfinite(anomaly_scores(net, x, padding=50)[21:]).all()
    x[100:130] = np.nan
    with pytest.raises(ValueError, match=r'before timestamp 1[0-9][0-9] are all 0 \(a run of missing values\?\)') as e:
        anomaly_scores(net, x, padding=50)
    assert ours(e.value)

# ------------------------------------------------------------------------------------------------------- preparation
def test_preparation_is_ts2vecs():
    rng = np.random.default_rng(0)
    walk = rng.standard_normal(401).cumsum()
    y = np.zeros(401, int); y[[3, 350]] = 1
    s = anomaly_split(walk, y)
    d = np.diff(walk)
    assert s.n_diff == adf_differences(walk) == 1 and s.train.shape == (1, 199) and s.test.shape == (1, 201)
    np.testing.assert_allclose(s.test[0], (d[199:] - d[:199].mean()) / d[:199].std())
    assert s.train_labels[2] == 1 and s.test_labels[350 - 200] == 1 # labels follow the differenced points
    two = anomaly_split(np.stack([rng.standard_normal(401), walk]))
    assert two.n_diff == 1 and two.train.shape == (2, 199)

def test_nothing_of_the_test_part_moves_a_threshold_or_a_choice(net):
    "changing the test values (past the n_diff points TS2Vec's ADF loop reads) changes no statistic, threshold or tuned setting"
    rng = np.random.default_rng(1)
    x = rng.standard_normal(600).cumsum(); y = np.zeros(600, int); y[100] = y[450] = 1
    x2 = x.copy(); x2[305:] = rng.standard_normal(295) * 50
    a, b = anomaly_split(x, y), anomaly_split(x2, y)
    assert a.n_diff == b.n_diff == 1 and np.array_equal(a.train, b.train) and a.mean == b.mean and a.std == b.std
    assert not np.allclose(a.test, b.test)
    assert evaluate_anomaly(net, a, padding=50).params == evaluate_anomaly(net, b, padding=50).params
    assert evaluate_anomaly(net, a, padding=50, q=0.99).params == evaluate_anomaly(net, b, padding=50, q=0.99).params
    assert zscore_baseline(a).params == zscore_baseline(b).params
    assert iforest_baseline(a).params == iforest_baseline(b).params

# ------------------------------------------------------------------------------------------------- flags and metrics
def test_delay_walk():
    assert suppress_flags([0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1], 3).tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert suppress_flags([1, 1, 1, 1, 0, 0, 1], 3).tolist() == [1, 1, 1, 0, 0, 0, 1]   # TS2Vec's `i >= delay`: the first 3 stay
    assert suppress_flags([1, 1, 1, 1], 3, prev=[1, 0, 0]).tolist() == [0, 1, 0, 0] # the kept flag 3 steps back blocks t=0 only
    assert suppress_flags([1, 1], 0).tolist() == [1, 1]
    assert flag_scores([np.nan, 2., 2., 0.5, 9.], 1., delay=1).tolist() == [0, 1, 0, 0, 1]

def test_point_adjusted_f1_by_hand():
    labels = np.zeros(40, int); labels[5:9] = 1; labels[15:20] = 1; labels[30:32] = 1
    flags = np.zeros(40, int); flags[8] = 1; flags[19] = 1; flags[25] = 1; flags[31] = 1
    # segment 1 found at its 4th point (in time, delay 3); segment 2 at its 5th (late: all missed, the flag is dropped);
    # segment 3 found at its 2nd; t=25 a false alarm: TP 4 + 2, FP 1, FN 5
    adj = point_adjust(flags, labels, 3)
    assert np.flatnonzero(adj).tolist() == [5, 6, 7, 8, 25, 30, 31]
    m = anomaly_metrics(flags, labels, 3)
    p, r = 6 / 7, 6 / 11
    assert m == pytest.approx({'f1': 2 * p * r / (p + r), 'precision': p, 'recall': r})
    assert anomaly_metrics([flags, np.zeros(10, int)], [labels, np.r_[np.zeros(5, int), np.ones(5, int)]], 3) == \
        pytest.approx({'f1': 2 * (6 / 7) * (6 / 16) / (6 / 7 + 6 / 16), 'precision': 6 / 7, 'recall': 6 / 16}) # pooled
    ts = np.array([0, 10, 30]) # 20 is missing: a 0 label and flag there
    assert anomaly_metrics([1, 0, 0], [1, 1, 0], delay=0, timestamps=ts) == pytest.approx({'f1': 1., 'precision': 1., 'recall': 1.})
    assert on_time_grid([1, 1, 0], ts).tolist() == [1, 1, 0, 0]

def test_auprc_on_a_known_case():
    assert anomaly_auprc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.8333333)
    assert anomaly_auprc([[0.1, 0.4], [0.35, 0.8]], [[0, 0], [1, 1]]) == pytest.approx(0.8333333)
    assert anomaly_auprc([3., 2., 1.], [1, 0, 0]) == 1.

def test_thresholds_are_ts2vecs():
    s = np.r_[np.full(21, np.nan), 100., np.arange(50.)]    # the 22nd score (100) is left out, as TS2Vec's [22:]
    assert anomaly_threshold(s) == pytest.approx(np.arange(50.).mean() + 4 * np.arange(50.).std())
    assert anomaly_threshold(s, q=0.5) == pytest.approx(24.5)
    e = np.arange(1., 40.)
    np.testing.assert_allclose(adjust_scores(e)[21:], [(e[t] - e[t - 21:t].mean()) / e[t - 21:t].mean() for t in range(21, 39)])
    assert np.isnan(trailing_mean(e)[:21]).all()

def test_coldstart_uses_expanding_statistics_of_the_scores_so_far():
    rng = np.random.default_rng(2)
    s = np.r_[np.full(21, np.nan), rng.standard_normal(400)]; s[300] = 10.
    ref = [int(np.isfinite(s[:i + 1]).sum() >= 42 and s[i] > np.nanmean(s[:i + 1]) + 4 * np.nanstd(s[:i + 1])) for i in range(len(s))]
    assert coldstart_flags(s).tolist() == suppress_flags(ref, 3).tolist() and coldstart_flags(s)[300] == 1

# ---------------------------------------------------------------------------------------------------------- detector
def test_streaming_equals_batch_scoring(net):
    x = spiky()[0]
    det = AnomalyDetector(net, padding=50).fit(x[:250])
    sc, fl = det.score(x[250:]), det.flags(x[250:])
    assert fl[SPIKE - 250] == 1 and np.isfinite(sc).all()
    whole = anomaly_scores(net, x, padding=50)[250:] # TS2Vec encodes the whole series: the same scores
    np.testing.assert_allclose(sc, whole, rtol=1e-5)
    out = [det.update(c) for c in np.split(x[250:], [1, 2, 40, 41, 100])]
    np.testing.assert_allclose(np.concatenate([o[0] for o in out]), sc, rtol=1e-5)
    assert np.array_equal(np.concatenate([o[1] for o in out]), fl)
    assert det.score(x[:10]).shape == (10,) # after the stream, the detector goes on from its last points

def test_save_load_roundtrip(net, tmp_path):
    x = spiky()[0]
    det = AnomalyDetector(net, k=3., delay=2, padding=50).fit(x[:250])
    det.update(x[250:290])
    det.save(tmp_path / 'det.pth')
    d = torch.load(tmp_path / 'det.pth', weights_only=True)
    assert d['config']['k'] == 3. and isinstance(d['threshold'], float)
    back = AnomalyDetector.load(tmp_path / 'det.pth')
    assert (back.threshold, back.delay, back.padding) == (det.threshold, 2, 50)
    np.testing.assert_allclose(back.score(x[290:]), det.score(x[290:]), rtol=1e-5)
    assert np.array_equal(back.update(x[290:])[1], det.update(x[290:])[1])

def test_save_load_of_another_tsai_arch_needs_the_model(tmp_path):
    fcn = contrastive_model("FCNPlus", 1, repr_dims=16)
    det = AnomalyDetector(fcn, padding=20).fit(WAVE[:120])
    det.save(tmp_path / 'fcn.pth')
    with pytest.raises(ValueError, match='pass net='): AnomalyDetector.load(tmp_path / 'fcn.pth')
    torch.manual_seed(1)
    back = AnomalyDetector.load(tmp_path / 'fcn.pth', net=contrastive_model("FCNPlus", 1, repr_dims=16))
    np.testing.assert_allclose(back.score(WAVE[120:200]), det.score(WAVE[120:200]), rtol=1e-5)

# --------------------------------------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_what_to_do(net):
    walk = np.random.default_rng(3).standard_normal(400).cumsum()
    cases = [(lambda: anomaly_split(np.full(400, 2.)), 'constant'),
             (lambda: anomaly_split(walk[:30]), 'needs at least 50'),
             (lambda: anomaly_split(walk, np.zeros(399)), r'one label per timestamp \(400\)'),
             (lambda: anomaly_split(walk, np.full(400, 0.5)), r'only 0 \(normal\) and 1'),
             (lambda: anomaly_split(np.r_[walk[:50], np.full(5, np.nan), walk[55:]]), r'NaN at 5 timestamp\(s\).*interpolate'),
             (lambda: anomaly_split(np.r_[walk[:5], np.inf, walk[6:]]), '±inf'),
             (lambda: anomaly_split(np.zeros((2, 3, 100))), 'must be one series'),
             (lambda: anomaly_split(np.arange(400.)), 'cannot run on the first half'),
             (lambda: anomaly_scores(net, np.zeros((4, 100))), r'x\[:, None, :\]'),
             (lambda: anomaly_scores(net, WAVE, padding=-1), 'padding must be'),
             (lambda: AnomalyDetector(net).flags(WAVE), 'not fitted'),
             (lambda: AnomalyDetector(net, k='4'), 'k must be a number'),
             (lambda: AnomalyDetector(net, padding=50).fit(WAVE[:20]), 'train has 20 timestamps'),
             (lambda: anomaly_metrics([0, 1], [0, 1, 1]), 'one of each per timestamp'),
             (lambda: anomaly_metrics([[0, 1]], [[0, 1], [1, 1]]), 'flags has 1 series but labels 2'),
             (lambda: anomaly_auprc([0.2, 0.1], [0, 0]), 'no anomalous point'),
             (lambda: anomaly_auprc([np.nan, 0.1], [0, 1]), 'NaN'),
             (lambda: evaluate_anomaly(net, anomaly_split(walk)), 'needs labels'),
             (lambda: evaluate_anomaly(net, [walk]), 'AnomalySplit'),
             (lambda: plot_anomalies(WAVE[:50], labels=np.zeros(49)), 'one value per timestamp'),
             (lambda: rolling_zscores(WAVE, 1), 'window must be'),
             (lambda: adf_differences(np.r_[walk[:9], np.nan, walk[10:]]), 'needs complete series'),
             (lambda: coldstart_flags(np.ones(9)), 'needs at least 10')]
    for f, msg in cases:
        with pytest.raises(ValueError, match=msg) as e: f()
        assert ours(e.value), (msg, traceback.format_exception(e.value)[-3:])

# -------------------------------------------------------------------------------------------------------- end to end
def test_end_to_end_on_yahoo():
    d = shared_npz('yahoo')
    s = anomaly_split(d['x'], d['label'])
    assert s.n_diff == 1 and s.test.shape == (1, 500) and s.test_labels.sum() == 5
    learn = pretrain(s.train[None].astype(np.float32), n_iters=20, **TINY)
    r = evaluate_anomaly(learn, s, padding=50)
    assert r.scores[0].shape == (500,) and np.isfinite(r.scores[0]).all() and set(np.unique(r.flags[0])) <= {0, 1}
    assert 0 <= r.f1 <= 1 and 0 <= r.auprc <= 1 and np.isfinite(r.params[0]['threshold'])
    c = evaluate_anomaly_coldstart(learn, s, padding=50)
    assert len(c.flags[0]) == 999 - 99 and 0 <= c.f1 <= 1
    for b in (zscore_baseline(s), iforest_baseline(s)): assert 0 <= b.f1 <= 1 and len(b.flags[0]) == 500
    fig = plot_anomalies(s.test, r.scores[0], r.flags[0], s.test_labels, r.params[0]['threshold'])
    assert len(fig.axes) == 2
