"""TS2Vec's forecasting task: causal encoding (no look-ahead, equal to the per-timestamp definition), the protocol's
indexing (a known linear future is recovered, random or shifted features fail), the ridge against scikit-learn, the
baselines, time features on Melbourne's clock, bad input, the forecaster's file, tsai's forecaster, and the real
vic_elec series end to end"""
import warnings
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from hierts_tsai.encode import causal_encode, encode_dl
from hierts_tsai.encoder import ContrastiveModel, TS2VecBackbone, contrastive_model, encoder_weights
from hierts_tsai.forecast import (ALPHAS, Forecaster, eval_forecasting, fit_ridge, forecast_data, forecast_learner, forecast_next,
                                  forecast_repr, horizon_fit, lag_ridge_forecast, naive_forecast, seasonal_naive_forecast, time_features)
from conftest import shared_npz

def small_net(c_in, seed=0, depth=3, hidden=8, repr_dims=8):
    torch.manual_seed(seed)
    return ContrastiveModel(TS2VecBackbone(c_in, hidden=hidden, depth=depth, repr_dims=repr_dims), repr_dims, repr_dims).eval()

def loop_encode(net, x, padding, mask_last=False):
    "The definition: at each t, the encoder's last output on x[..., t-padding : t+1], left-padded with NaN"
    out = []
    with torch.no_grad():
        for t in range(x.shape[-1]):
            win = F.pad(x[..., max(t - padding, 0):t + 1], (max(padding - t, 0), 0), value=float('nan'))
            m = torch.ones(len(x), padding + 1, dtype=torch.bool)
            if mask_last: m[:, -1] = False
            out.append(net.embed(win, m)[..., -1])
    return torch.stack(out, -1)

def series(T=1200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    return {'time': 1_356_998_400 + 1800 * t, 'x': np.sin(t / 7.) + 0.3 * rng.standard_normal(T), 'z': np.cos(t / 11.) + 0.3 * rng.standard_normal(T)}

# (a) no look-ahead
@pytest.mark.parametrize('mask_last', [False, True])
def test_causal_encoding_does_not_look_ahead(mask_last):
    net, x = small_net(3, depth=4), torch.randn(2, 3, 120)
    for t in (0, 37, 119):
        x2 = x.clone(); x2[..., t + 1:] = torch.randn_like(x2[..., t + 1:]) * 5
        a, b = causal_encode(net, x, 20, mask_last=mask_last), causal_encode(net, x2, 20, mask_last=mask_last)
        assert torch.equal(a[..., :t + 1], b[..., :t + 1])
        if t < 119: assert (a[..., t + 1:] - b[..., t + 1:]).abs().amax() > 1e-3
    # and it does look back `padding` steps, no more
    x3 = x.clone(); x3[..., 50] += 3.
    d = (causal_encode(net, x, 20) - causal_encode(net, x3, 20)).abs().amax((0, 1))
    assert (d[:50] == 0).all() and (d[50:71] > 0).all() and (d[71:] == 0).all()

# (b) equal to the per-timestamp loop
@pytest.mark.parametrize('depth,padding,bs,mask_last', [(3, 7, 5, False), (3, 7, 64, True), (10, 200, 16, False), (2, 0, 3, False)])
def test_causal_encode_equals_the_per_timestamp_loop(depth, padding, bs, mask_last):
    net = small_net(2, depth=depth)
    x = torch.randn(2, 2, 45); x[0, :, 10] = float('nan'); x[1, 1, 30] = float('nan')
    torch.testing.assert_close(causal_encode(net, x, padding, bs=bs, mask_last=mask_last), loop_encode(net, x, padding, mask_last), atol=1e-5, rtol=1e-4)

def test_causal_encode_other_backbones_and_through_the_dataloaders():
    from tsai.data.core import get_ts_dls
    from hierts_tsai.encode import encoding_dl
    plain = ContrastiveModel(torch.nn.Conv1d(2, 6, 5, padding=2), 6, 4, c_in=2).eval()
    x = torch.randn(3, 2, 30)
    torch.testing.assert_close(causal_encode(plain, x, 9), loop_encode(plain, x, 9), atol=1e-5, rtol=1e-4)
    net = small_net(2)
    X = np.random.default_rng(0).standard_normal((5, 2, 40)).astype(np.float32)
    dls = get_ts_dls(X, bs=2)
    z = encode_dl(net, encoding_dl(dls, X, 2, 2), None, causal=True, padding=12)
    assert z.shape == (5, 8, 40)
    np.testing.assert_allclose(z, causal_encode(net, torch.from_numpy(X), 12).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match='encoding_window=None'): encode_dl(net, encoding_dl(dls, X, 2, 2), 'full_series', causal=True)

# (c) the protocol's indexing
def test_protocol_recovers_a_known_linear_future_and_fails_without_it():
    fd = forecast_data(series(), 'x', time=None)
    T, H = 1200, 6
    future = np.stack([np.roll(fd.y[0], -k) for k in range(1, H + 1)])          # at t: the values t+1 … t+H
    mix = np.random.default_rng(1).standard_normal((10, H))
    rows = eval_forecasting(mix @ future, fd, horizons=(1, 3, H), padding=20)   # a linear image of the future
    assert [r['horizon'] for r in rows] == [1, 3, H]
    assert all(r['mse'] < 1e-4 and r['mae'] < 1e-2 for r in rows), rows
    assert all(r['mse'] > 0.2 for r in eval_forecasting(np.random.default_rng(2).standard_normal((10, T)), fd, (1, H), 20))
    late = np.stack([np.roll(fd.y[0], -k) for k in range(0, H)])                # off by one: t … t+H-1
    assert eval_forecasting(late, fd, (H,), 20)[0]['mse'] > 0.01

def test_protocol_multivariate_raw_units():
    d = series(); d['x'] = 100 + 20 * d['x']
    fd = forecast_data(d, ['x', 'z'], time='time')
    assert fd.n_covariates == 7 and fd.data.shape == (1, 9, 1200)
    z = np.random.default_rng(0).standard_normal((16, 1200))
    r = eval_forecasting(z, fd, (4,), padding=10)[0]
    lr, pred, true = horizon_fit(z, fd, 4, 10)
    assert pred.shape == true.shape == (240 - 4, 2, 4)
    err = fd.raw(pred) - fd.raw(true)
    assert np.isclose(r['mse_raw_x'], (err[:, 0] ** 2).mean()) and np.isclose(r['mae_raw_z'], np.abs(err[:, 1]).mean())
    assert np.isclose(r['mse_raw'], (err ** 2).mean()) and np.isclose(r['mse'], ((pred - true) ** 2).mean())
    assert np.isclose(r['mse_raw_x'] / ((pred - true)[:, 0] ** 2).mean(), fd.std[0] ** 2) and r['alpha'] == lr.alpha

# (d) the ridge
@pytest.mark.parametrize('seed', [0, 1])
def test_fit_ridge_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((400, 30)) * rng.uniform(0.1, 10, 30) + 3
    y = X @ rng.standard_normal((30, 5)) + rng.standard_normal((400, 5)) * (1 + seed * 20)
    r = fit_ridge(X[:300], y[:300], X[300:], y[300:])
    sc = [np.sqrt(((e := Ridge(alpha=a).fit(X[:300], y[:300]).predict(X[300:]) - y[300:]) ** 2).mean()) + np.abs(e).mean() for a in ALPHAS]
    assert r.alpha == ALPHAS[int(np.argmin(sc))]
    sk = Ridge(alpha=r.alpha).fit(X[:300], y[:300])
    np.testing.assert_allclose(r.coef, sk.coef_, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(r.intercept, sk.intercept_, atol=1e-5, rtol=1e-5)
    # above `max_samples`, TS2Vec's rows (train_test_split, random_state=0)
    r2 = fit_ridge(X[:300], y[:300], X[300:], y[300:], alphas=(2.,), max_samples=120)
    Xs, _, ys, _ = train_test_split(X[:300], y[:300], train_size=120, random_state=0)
    np.testing.assert_allclose(r2.coef, Ridge(alpha=2.).fit(Xs, ys).coef_, atol=1e-5, rtol=1e-5)

# (e) baselines
def test_seasonal_naive_is_exact_on_a_periodic_series():
    fd = forecast_data({'x': np.tile(np.random.default_rng(0).standard_normal(48), 40)}, 'x', time=None)
    for r in seasonal_naive_forecast(fd, 48, (1, 24, 48, 100, 300)): assert r['mse'] < 1e-20 and r['alpha'] is None
    assert seasonal_naive_forecast(fd, 47, (24,))[0]['mse'] > 0.5 and naive_forecast(fd, (24,))[0]['mse'] > 0.5
    assert lag_ridge_forecast(fd, (24,), lags=48)[0]['mse'] < 1e-3

def test_naive_is_the_last_value():
    d = {'x': np.arange(100.) ** 1.5}
    fd = forecast_data(d, 'x', time=None)
    r = naive_forecast(fd, (3,))[0]
    t = np.arange(80, 97)
    err = np.stack([d['x'][t + k] - d['x'][t] for k in (1, 2, 3)], 1)
    assert np.isclose(r['mse_raw'], (err ** 2).mean()) and np.isclose(r['mae_raw'], np.abs(err).mean())

# (f) time features on Melbourne's clock
def test_time_features_in_melbourne_across_daylight_saving():
    utc = pd.to_datetime(['2013-10-05 15:30', '2013-10-05 16:30', '2013-04-06 15:30', '2013-04-06 16:30', '2014-12-31 13:00'], utc=True)
    f = time_features(utc.as_unit('s').asi8, 'Australia/Melbourne')
    # 6 Oct 2013 at 2 am AEST clocks go to 3 am AEDT; 7 Apr 2013 at 3 am AEDT back to 2 am AEST; New Year's Day 2015 at midnight
    np.testing.assert_array_equal(f[1], [1, 3, 2, 2, 0])
    np.testing.assert_array_equal(f[2], [6, 6, 6, 6, 3])           # Sundays; 1 Jan 2015 a Thursday
    np.testing.assert_array_equal(f[[3, 4, 5]][:, -1], [1, 1, 1])   # day, day of year, month
    np.testing.assert_array_equal(f[6], [40, 40, 14, 14, 1])
    vic = shared_npz('vic_elec')
    fv = time_features(vic['time'][:48], 'Australia/Melbourne')     # the series starts at local midnight, 1 Jan 2012 (Sunday)
    np.testing.assert_array_equal(fv[1], np.repeat(np.arange(24), 2)); assert (fv[2] == 6).all()

# (g) bad input
def test_bad_input_is_refused_with_a_useful_message():
    d = series()
    with pytest.raises(ValueError, match=r"no variable 'demand' in the data; it has \['time', 'x', 'z'\]"): forecast_data(d, 'demand')
    bad = dict(d, x=np.where(np.isin(np.arange(1200), [3, 500]), np.nan, d['x']))
    with pytest.raises(ValueError, match=r"'x' holds 2 NaN or infinite value\(s\) at positions \[3, 500\]"): forecast_data(bad, 'x')
    with pytest.raises(ValueError, match='too short'): forecast_data({k: v[:6] for k, v in d.items()}, 'x')
    fd = forecast_data(d, 'x')
    z = np.zeros((4, 1200))
    with pytest.raises(ValueError, match='horizon 240 is too long for the valid slice'): eval_forecasting(z, fd, (24, 240))
    with pytest.raises(ValueError, match='horizon must be a positive int'): eval_forecasting(z, fd, (0,))
    with pytest.raises(ValueError, match=r'after the first 700 \(padding\)'): eval_forecasting(z, fd, (24,), padding=700)
    with pytest.raises(ValueError, match='repr must be'): eval_forecasting(z[:, :100], fd, (24,))
    with pytest.raises(ValueError, match='padding must be an int >= 0'): causal_encode(small_net(8), torch.zeros(1, 8, 10), -3)
    with pytest.raises(ValueError, match="unknown time zone"): forecast_data(d, 'x', tz='Nowhere/Town')

# (h) the forecaster's file
def test_forecaster_save_load_predicts_identically_and_as_the_protocol(tmp_path):
    d = series()
    fd = forecast_data(d, ['x', 'z'], tz='Australia/Melbourne')
    net = small_net(9, repr_dims=16)
    fc = Forecaster.fit(net, fd, horizons=(5, 12), padding=30)
    path = fc.save(tmp_path / 'sub' / 'fc.pth')
    assert isinstance(torch.load(path, weights_only=True), dict)
    fc2 = Forecaster.load(path)
    for h in (5, 12):
        p = fc.predict(d, h)
        assert p.shape == (2, h) and np.array_equal(p, fc2.predict(d, h))
    z = forecast_repr(net, fd, padding=30)
    _, pred, _ = horizon_fit(z, fd, 5, 30)
    t = fd.test.start + 17
    np.testing.assert_allclose(fc.predict({k: v[:t + 1] for k, v in d.items()}, 5), fd.raw(pred[17]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fc.predict({k: v[t - 30:t + 1] for k, v in d.items()}, 5), fc.predict({k: v[:t + 1] for k, v in d.items()}, 5))
    with pytest.raises(ValueError, match=r'no ridge for horizon 7: this forecaster has \[5, 12\]'): fc.predict(d, 7)
    (tmp_path / 'junk.pth').write_bytes(b'not a file')
    with pytest.raises(ValueError, match='not a forecaster'): Forecaster.load(tmp_path / 'junk.pth')

def test_forecast_repr_of_a_learner_goes_through_its_encoder():
    from hierts_tsai.learner import ts2vec_learner
    fd = forecast_data(series(400), 'x')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = ts2vec_learner(fd.data[..., fd.train].astype(np.float32), repr_dims=8, arch_config=dict(hidden=8, depth=2), seed=0, precision='float32')
    a, b = forecast_repr(learn, fd, padding=16), forecast_repr(learn.encoder_model(), fd, padding=16)
    assert a.shape == (8, 400)
    np.testing.assert_allclose(a, b, atol=1e-5)

# tsai's forecaster with the pretrained encoder
def test_forecast_learner_loads_the_encoder_and_forecasts(tmp_path):
    from tsai.data.preparation import SlidingWindow
    from tsai.data.validation import TimeSplitter
    fd = forecast_data(series(600), ['x', 'z'], time=None)
    net = contrastive_model(c_in=2, arch_config=dict(hidden=8, depth=2), repr_dims=8)
    torch.save(encoder_weights(net), tmp_path / 'enc.pth')
    X, y = SlidingWindow(32, horizon=8, get_x=[0, 1], get_y=[0, 1], seq_first=False)(fd.data[0].astype(np.float32))
    assert X.shape[1:] == (2, 32) and y.shape[1:] == (2, 8)
    splits = TimeSplitter(100, show_plot=False)(y)
    learn = forecast_learner(X, y, splits, tmp_path / 'enc.pth', arch_config=dict(hidden=8, depth=2, repr_dims=8), bs=32, seed=0)
    torch.testing.assert_close(learn.model.backbone.input_fc.weight, net.backbone.input_fc.weight)
    assert not any(p.requires_grad for p in learn.model.backbone.parameters())
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    nxt = forecast_next(learn, fd.data[0])
    assert nxt.shape == (2, 8) and np.isfinite(nxt).all()
    with pytest.raises(ValueError, match='does not fit'):
        forecast_learner(X, y, splits, tmp_path / 'enc.pth', arch_config=dict(hidden=16, depth=2, repr_dims=8))

# the real series, end to end
def test_vic_elec_end_to_end(tmp_path):
    vic = shared_npz('vic_elec')
    part = {k: v[:3000] for k, v in vic.items()}
    fd = forecast_data(part, 'demand', covariates=['holiday'], tz='Australia/Melbourne')
    assert fd.data.shape == (1, 9, 3000) and fd.n_covariates == 8
    net = contrastive_model(c_in=9, arch_config=dict(hidden=16, depth=3), repr_dims=32)
    z = forecast_repr(net, fd, padding=50)
    rows = eval_forecasting(z, fd, (24, 48), padding=50)
    assert [r['horizon'] for r in rows] == [24, 48]
    assert all(np.isfinite([r['mse'], r['mae'], r['mse_raw'], r['mae_raw']]).all() and r['alpha'] in ALPHAS for r in rows)
    assert 100 < rows[0]['mae_raw'] < 2000                                  # MW, demand ~ 3000-8000
    seas = seasonal_naive_forecast(fd, 48, (24, 48))
    assert all(s['mse'] < n['mse'] for s, n in zip(seas, naive_forecast(fd, (24, 48))))   # a day repeats better than the last value
    fc = Forecaster.fit(net, fd, (24,), padding=50)
    out = Forecaster.load(fc.save(tmp_path / 'fc.pth')).predict(part, 24)
    assert out.shape == (1, 24) and 2000 < out.mean() < 9000
