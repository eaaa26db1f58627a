"""The command line writing to a file (issue 19): one line per epoch, no progress-bar redraws; pipelines holding the
scikit-learn transformer pickle and joblib round-trip, and `set_output` names its columns"""
import os, pickle, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from hierts_tsai.data import load_dataset, standardize
from hierts_tsai.estimator import TS2VecTransformer

D = standardize(load_dataset())
PRETRAIN = str(Path(sys.executable).with_name('hierts_pretrain'))

def run(args, cwd):
    return subprocess.run([PRETRAIN, *args], capture_output=True, text=True, cwd=cwd, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})

def test_unlabelled_npz_pretrains_saves_and_logs_one_line_per_epoch(tmp_path):
    "an npz with X_train only: pretrain, save, no evaluation; stdout to a file: one line per epoch, no progress-bar redraws"
    f = tmp_path / 'u.npz'
    np.savez(f, X_train=D['X_train'])
    p = run(['--data', str(f), '--iters', '12', '--repr-dims', '16', '--out', 'e.pth'], tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert 'no evaluation: the data has no y_train, X_test and y_test' in lines[0]
    assert [l.split(':')[0] for l in lines if l.startswith('epoch ')] == ['epoch 0', 'epoch 1', 'epoch 2']  # 12 iterations, 5 a epoch
    assert any(l.startswith('precision: ') for l in lines) and (tmp_path / 'e.pth').exists()
    assert '\r' not in p.stdout and len(p.stdout) < 3000 and 'SVM accuracy' not in p.stdout

@pytest.fixture(scope='module')
def fitted():
    return TS2VecTransformer(n_iters=4, repr_dims=16, arch_config=dict(depth=2, hidden=8), seed=0).fit(D['X_train'])

def test_transformer_pickles_and_joblib_round_trips(fitted, tmp_path):
    import joblib
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC
    pipe = make_pipeline(fitted, SVC()).fit(D['X_train'], D['y_train'])      # an already fitted transformer refits in the pipeline
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict(D['X_test']), pipe.predict(D['X_test']))
    joblib.dump(pipe, tmp_path / 'p.joblib')
    np.testing.assert_allclose(joblib.load(tmp_path / 'p.joblib')[0].transform(D['X_test'][:5]), pipe[0].transform(D['X_test'][:5]), rtol=1e-6)

def test_transformer_pandas_output(fitted):
    df = fitted.set_output(transform='pandas').transform(D['X_test'][:3])
    fitted.set_output(transform='default')
    assert df.shape == (3, 16) and df.columns[0] == 'ts2vec0'
