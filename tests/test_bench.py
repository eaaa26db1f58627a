"Benchmark plumbing: the plain loop sees the fastai run's crops, rows and tables, bad options fail early"
import json
import numpy as np
import pytest
from conftest import small_learner, quiet_fit
from fastai.callback.core import Callback
from hierts_tsai.bench import plain_fit, run_isolated, markdown_table, summarize, mode_callbacks, step_ops, loss_ops
from hierts_tsai.cli import _run, hierts_bench, hierts_pretrain

class CropLog(Callback):
    "Crop lengths fastai trains on (named so that it does not become `learn.crops`, which TS2VecViews would shadow)"
    order = 1
    def before_fit(self): self.seen = []
    def before_batch(self):
        if self.training: self.seen.append(self.learn.xb[-1])

def test_plain_loop_sees_the_same_crops_as_fastai():
    rec = CropLog()
    quiet_fit(small_learner(cbs=rec), 12)
    crops, swa = plain_fit(small_learner(), 12)
    assert crops == rec.seen and len(crops) == 12 and swa.n_averaged.item() == 13

def test_rows_and_table():
    rows = [run_isolated(mode=m, iters=3, repr_dims=16, evaluate=m != 'encoder') for m in ('full', 'iars', 'encoder')]
    for r in rows:
        assert {'mode', 'dataset', 'length', 'seed', 'iters', 'fit_s', 's_per_iter', 'peak_mem_mb', 'acc'} <= set(r), r
        assert r['iters'] == 3 and r['dataset'] == 'BasicMotions' and r['length'] == 100 and r['peak_mem_mb'] >= 0
    assert rows[2]['acc'] is None and rows[0]['acc'] is not None and len(rows[1]['levels']) == 3
    s = {x['mode']: x for x in summarize(rows)}
    assert s['full']['ratio'] == 1.0 and s['iars']['ratio'] == pytest.approx(rows[1]['fit_s'] / rows[0]['fit_s'])
    t = markdown_table(rows)
    assert t.count('\n') == 4 and '| BasicMotions | 100 | iars | 3 |' in t

def test_failed_run_is_a_row_not_a_crash():
    r = run_isolated(mode='full', iters=1, data='/nonexistent.npz')
    assert 'error' in r and 'no such file' in r['error']
    assert 'failed' in markdown_table([r])

@pytest.mark.parametrize('argv,msg', [
    (['--data', '/nonexistent.npz'], 'no such file'),
    (['--modes', 'full,fast'], "unknown mode 'fast'"),
    (['--dataset', 'X', '--data', 'y.npz'], 'not --dataset and --data'),
])
def test_bench_bad_options_one_line_error(argv, msg, capsys):
    assert _run(hierts_bench, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0] and 'Traceback' not in err[0]

def test_pretrain_bad_npz(tmp_path, capsys):
    bad = tmp_path / 'bad.npz'
    np.savez(bad, X_train=np.zeros((4, 2, 10)), y_train=np.zeros(3), X_test=np.zeros((2, 2, 10)), y_test=np.zeros(2))
    assert _run(hierts_pretrain, ['--data', str(bad)]) == 2
    assert 'X_train has 4 series but y_train has 3 labels' in capsys.readouterr().err
    np.savez(bad, X_train=np.zeros((4, 10)), y_train=np.zeros(4), X_test=np.zeros((2, 2, 10)), y_test=np.zeros(2))
    assert _run(hierts_pretrain, ['--data', str(bad)]) == 2
    assert 'X_train must be (n_series, channels, length), got shape (4, 10)' in capsys.readouterr().err
    np.savez(bad, X_train=np.zeros((4, 2, 10)), y_train=np.zeros(4))
    assert _run(hierts_pretrain, ['--data', str(bad)]) == 2
    assert 'lacks X_test, y_test' in capsys.readouterr().err

def test_unknown_dataset_offline_points_to_data(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)       # tsai's cache folder is relative: an empty one here
    assert _run(hierts_pretrain, ['--dataset', 'NoSuchDataset123', '--iters', '1']) == 2
    err = capsys.readouterr().err
    assert '--data PATH' in err and 'NoSuchDataset123' in err

def test_pretrain_main_job_runs_and_saves(tmp_path, capsys):
    out = tmp_path / 'enc.pth'
    assert _run(hierts_pretrain, ['--iters', '5', '--repr-dims', '16', '--quiet', '--out', str(out)]) == 0
    text = capsys.readouterr().out
    assert out.exists() and 'SVM accuracy on BasicMotions' in text

def test_loss_and_step_benchmarks_write_their_rows(tmp_path, capsys):
    "--loss and --steps run each mode in a fresh process and write the rows they print"
    out = tmp_path / 'loss.json'
    assert _run(hierts_bench, ['--loss', '64', '--bs', '2', '--quiet', '--json', str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r['mode'], r['level']) for r in rows] == [('hierarchical', None), ('finest-level', 0), ('coarse-level', 3)]
    assert len({round(r['loss'], 5) for r in rows}) == 3 and all(r['step_s'] > 0 for r in rows)
    assert '| 64 | coarse-level | 3 |' in capsys.readouterr().out
    out = tmp_path / 'steps.json'
    assert _run(hierts_bench, ['--steps', '32', '--bs', '2', '--quiet', '--json', str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r['mode'] for r in rows] == ['encoder', 'dense-full', 'dense-iars', 'blockwise-iars']
    assert len(rows[-1]['level_s']) == 6                  # the parts of a blockwise IARS step: levels of T=32

@pytest.mark.parametrize('mode', ['full', 'iars-p10'])
def test_host_syncs_per_training_step(mode):
    "the GPU targets, counted on the CPU: at most 3 host syncs per ordinary training step (fastai's recorder and batch copy among them)"
    r = step_ops(mode, T=200, iters=12, bs=4)
    assert r['other_syncs'] <= 3, r
    assert r['other_sync_kinds'].get('item', 0) == 0, r      # no value read from the device by this package
    if mode == 'iars-p10': assert r['probe_steps'] == 1 and r['probe_syncs'] >= r['other_syncs']

def test_the_budget_keeps_launches_few():
    "ops of one loss forward+backward at T=1000: the CPU budget stays within 2x the dense loss; a level and a probe cost less than all levels"
    dense, auto = (loss_ops(1000, bs=8, dims=32, max_dense=m)['ops'] for m in (None, 'auto'))
    probe = loss_ops(1000, bs=8, dims=32, max_dense=None, what='level0+probe')['ops']
    assert auto <= 2 * dense and probe < dense
