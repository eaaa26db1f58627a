"""`hierts_forecast` (issue 27): a real stretch of vic_elec forecast end to end through the installed console script and
through `run_command` (exit 0, the MSE/MAE table per horizon beside the naive forecasts, the forecaster and the next
values written), and every input the protocol cannot take refused with one line and exit status 2"""
import contextlib, io, os, shutil, subprocess
import numpy as np
import pandas as pd
import pytest
from conftest import shared_npz
from hierts_tsai.cli import run_command, hierts_forecast
from hierts_tsai.forecast import Forecaster

def run(argv):
    "(exit status, stdout, stderr) of `hierts_forecast argv`"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = run_command(hierts_forecast, [str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()

@pytest.fixture(scope='module')
def vic(tmp_path_factory):
    "The last 5,000 half-hours of vic_elec as an .npz"
    d = shared_npz('vic_elec')
    p = tmp_path_factory.mktemp('vic') / 'vic.npz'
    np.savez(p, **{k: np.asarray(v)[-5000:] for k, v in d.items()})
    return p

def test_the_console_script_forecasts(vic, tmp_path):
    exe = shutil.which('hierts_forecast')
    assert exe, 'hierts_forecast is not installed (settings.ini console_scripts)'
    p = subprocess.run([exe, str(vic), '--target', 'demand', '--tz', 'Australia/Melbourne', '--horizons', '24,48', '--seasonal', 'auto',
                        '--iters', '3', '--repr-dims', '16', '--precision', 'float32', '--padding', '50', '--quiet',
                        '--save', str(tmp_path / 'fc.pth'), '--out', str(tmp_path / 'next.csv')],
                       capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'}, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert 'Warning' not in p.stderr, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert any(l.startswith('MSE and MAE on the test slice') for l in lines)
    assert [l.split()[0] for l in lines if l.split() and l.split()[0] in ('24', '48')] == ['24', '48']
    assert 'seasonal-336' in p.stdout and 'naive' in p.stdout and 'seasons chosen on valid' in p.stdout
    nxt = pd.read_csv(tmp_path / 'next.csv')
    assert list(nxt.columns) == ['step', 'demand'] and len(nxt) == 48 and nxt['demand'].between(2000, 12000).all()
    fc = Forecaster.load(tmp_path / 'fc.pth')
    assert sorted(fc.ridges) == [24, 48]

def test_a_csv_with_dates(vic, tmp_path):
    d = np.load(vic)
    pd.DataFrame({'date': pd.to_datetime(d['time'], unit='s').strftime('%Y-%m-%d %H:%M'), 'load': d['demand']}).to_csv(tmp_path / 'v.csv', index=False)
    code, out, err = run([tmp_path / 'v.csv', '--time', 'date', '--horizons', '24', '--iters', '2', '--repr-dims', '16', '--precision', 'float32',
                          '--padding', '50', '--quiet'])
    assert code == 0, err
    assert 'predicting load from 8 channels (7 time features' in out

@pytest.mark.parametrize('args,arrays,message', [
    (['--target', 'load'], dict(y=np.zeros(3000)), "no variable 'load'"),
    ([], dict(y=np.r_[np.ones(100), np.nan, np.ones(2899)]), 'NaN or infinite value(s) at positions [100]'),
    (['--horizons', '24,700'], dict(y=np.sin(np.arange(3000.))), 'horizon 700 is too long for the valid slice'),
    (['--horizons', 'day'], dict(y=np.sin(np.arange(3000.))), '--horizons must be comma-separated steps'),
    (['--seasonal', 'auto'], dict(y=np.sin(np.arange(3000.))), "seasonal='auto' needs the series' timestamps"),
    ([], dict(y=np.sin(np.arange(3000.)), time=np.r_[np.arange(1500), np.arange(1500)] * 60), 'must increase'),
    (['--time', 'stamp'], dict(y=np.sin(np.arange(3000.))), "no variable 'stamp'"),
])
def test_bad_input_one_line_exit_2(tmp_path, args, arrays, message):
    np.savez(tmp_path / 'bad.npz', **arrays)
    code, out, err = run([tmp_path / 'bad.npz', '--iters', '1', '--quiet', *args])
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err

def test_missing_file(tmp_path):
    code, _, err = run([tmp_path / 'nothing.npz'])
    assert code == 2 and 'does not exist' in err
