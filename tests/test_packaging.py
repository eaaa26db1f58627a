"What `pip install .` gives a user: the library without its research side, and a curated `hierts_tsai.all`"
import subprocess, sys, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    "The wheel `pip install .` would install, built from this checkout"
    out = tmp_path_factory.mktemp('wheel')
    p = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(out), str(ROOT)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    return next(out.glob('hierts_tsai-*.whl'))

def test_the_wheel_holds_the_library_and_no_research_code(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    mods = {n for n in names if n.endswith('.py')}
    assert {'hierts_tsai/learner.py', 'hierts_tsai/iars.py', 'hierts_tsai/cli.py'} <= mods
    assert 'hierts_tsai/datasets/BasicMotions_TRAIN.ts' in names
    assert not [n for n in names if 'harness' in n or 'hierts_research' in n], [n for n in names if 'research' in n or 'harness' in n]
    entry = next(n for n in names if n.endswith('entry_points.txt'))
    scripts = zipfile.ZipFile(wheel).read(entry).decode()
    assert all(c in scripts for c in ('hierts_pretrain', 'hierts_anomaly', 'hierts_forecast')) and 'hierts_bench' not in scripts

def test_research_code_does_not_import_from_an_installed_wheel(wheel, tmp_path):
    "Installed from the wheel alone (no site-packages, no checkout on the path), `hierts_tsai` imports and the research side does not"
    target = tmp_path / 'site'
    p = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', str(target), str(wheel)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    code = ("import sys, importlib.util as u; sys.path.insert(0, sys.argv[1]); import hierts_tsai; "
            "print(hierts_tsai.__file__.startswith(sys.argv[1]), u.find_spec('hierts_research'), u.find_spec('hierts_tsai.harness'))")
    r = subprocess.run([sys.executable, '-S', '-c', code, str(target)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ['True', 'None', 'None'], r.stdout
    r = subprocess.run([sys.executable, '-S', '-c', f"import sys; sys.path.insert(0, {str(target)!r}); import hierts_research"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode != 0 and "No module named 'hierts_research'" in r.stderr

def test_all_exports_a_curated_api():
    "`from hierts_tsai.all import *` brings what a user calls, not every helper (tsai's MVP module exports 7)"
    import hierts_tsai.all as a
    assert len(a.__all__) <= 40, (len(a.__all__), a.__all__)
    assert {'ts2vec_learner', 'pretrain', 'IARS', 'transfer_learner', 'TS2VecEncoder', 'load_dataset'} <= set(a.__all__)
    for helper in ('take', 'kept', 'centre', 'host_to_device', 'clamp_level', 'softmax_probs', 'check_series'):
        assert helper not in a.__all__, helper
