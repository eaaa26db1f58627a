"""`hierts_anomaly` (issue 28): a real Yahoo series scored end to end through `run_command` (exit 0, the F1 line, the
scores and the detector written), and every input the protocol cannot take refused with one line and exit status 2"""
import contextlib, io
import numpy as np
import pytest
from conftest import shared_npz
from hierts_tsai.cli import run_command, hierts_anomaly
from hierts_tsai.anomaly import AnomalyDetector

def run(argv):
    "(exit status, stdout, stderr) of `hierts_anomaly argv`"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = run_command(hierts_anomaly, [str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()

def test_scores_a_yahoo_series(tmp_path):
    d = shared_npz('yahoo')
    np.savez(tmp_path / 'yahoo.npz', x=d['x'], label=d['label'])
    code, out, err = run([tmp_path / 'yahoo.npz', '--iters', '4', '--repr-dims', '16', '--precision', 'float32', '--quiet',
                          '--padding', '50', '--out', tmp_path / 'scores.npz', '--save', tmp_path / 'det.pth'])
    assert code == 0, err
    f1 = [l for l in out.splitlines() if l.startswith('F1 ')]
    assert len(f1) == 1 and 'precision' in f1[0] and 'recall' in f1[0] and 'AUPRC' in f1[0]
    o = np.load(tmp_path / 'scores.npz')
    assert o['scores'].shape == o['flags'].shape == o['labels'].shape == (500,) and int(o['start']) == 500
    assert np.isfinite(o['scores']).all() and set(np.unique(o['flags'])) <= {0, 1}
    det = AnomalyDetector.load(tmp_path / 'det.pth')
    assert det.threshold == pytest.approx(float(o['threshold'])) and det.update(np.zeros(5))[1].shape == (5,)

def test_without_labels_no_f1(tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 300)).cumsum(1) # two channels, differenced once
    np.savez(tmp_path / 'two.npz', x=x)
    code, out, err = run([tmp_path / 'two.npz', '--iters', '2', '--repr-dims', '16', '--quiet', '--padding', '20', '--quantile', '0.99'])
    assert code == 0, err
    assert '2 channel(s)' in out and "0.99 quantile" in out and 'F1' not in out

@pytest.mark.parametrize('arrays,message', [
    (dict(series=np.zeros(400)), 'has no `x`'),
    (dict(x=np.random.default_rng(0).standard_normal(400), label=np.zeros(300)), 'one label per timestamp'),
    (dict(x=np.r_[np.random.default_rng(0).standard_normal(200), np.nan, np.zeros(199)]), 'NaN'),
    (dict(x=np.ones(400)), 'constant'),
    (dict(x=np.random.default_rng(0).standard_normal(30)), 'at least'),
])
def test_bad_input_one_line_exit_2(tmp_path, arrays, message):
    np.savez(tmp_path / 'bad.npz', **arrays)
    code, out, err = run([tmp_path / 'bad.npz', '--iters', '1', '--quiet'])
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err and err.startswith('hierts_anomaly: error:')

def test_bad_files_and_options(tmp_path):
    (tmp_path / 'text.npz').write_text('not an npz')
    for argv in ([tmp_path / 'missing.npz'], [tmp_path / 'text.npz'], [tmp_path / 'missing.npz', '--quantile', '1.5'],
                 [tmp_path / 'missing.npz', '--iters', '0'], [tmp_path / 'missing.npz', '--delay', '-1'], [tmp_path / 'missing.npz', '--mode', 'nope']):
        code, out, err = run(argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, (argv, err)
