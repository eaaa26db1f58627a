"Benchmark plumbing (hierts_research) and the commands: the plain loop sees the fastai run's crops, rows and tables, bad options fail early"
import json, sys
import numpy as np
import pytest
from conftest import small_learner, quiet_fit
from fastai.callback.core import Callback
from hierts_research.runs import plain_fit, run_isolated, modes_table, summarize, mode_callbacks
from hierts_research.counting import step_ops, loss_ops
from hierts_research.cli import hierts_bench, bench_main
from hierts_tsai.cli import run_command, hierts_pretrain

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

def test_mode_callbacks():
    "IARS's shorthands with their arguments, and the harness's own modes"
    from hierts_tsai.iars import IARS, AllLevels, Importance
    assert mode_callbacks('encoder') == [] and mode_callbacks('untrained') == []
    (cb,), (full,) = mode_callbacks('iars', mapping='depth'), mode_callbacks('plain')
    assert isinstance(cb, IARS) and isinstance(cb.choice, Importance) and cb.choice.mapping == 'depth'
    assert isinstance(full.choice, AllLevels)
    with pytest.raises(ValueError, match="unknown mode 'fast'.*the harness also has encoder, plain, untrained"): mode_callbacks('fast')

def test_rows_and_table():
    rows = [run_isolated(mode=m, iters=3, repr_dims=16, evaluate=m != 'encoder') for m in ('full', 'iars', 'encoder')]
    for r in rows:
        assert {'mode', 'dataset', 'length', 'seed', 'iters', 'fit_s', 's_per_iter', 'peak_mem_mb', 'acc'} <= set(r), r
        assert r['iters'] == 3 and r['dataset'] == 'BasicMotions' and r['length'] == 100 and r['peak_mem_mb'] >= 0
    assert rows[2]['acc'] is None and rows[0]['acc'] is not None and len(rows[1]['levels']) == 3
    s = {x['mode']: x for x in summarize(rows)}
    assert s['full']['ratio'] == 1.0 and s['iars']['ratio'] == pytest.approx(rows[1]['fit_s'] / rows[0]['fit_s'])
    t = modes_table(rows)
    assert t.count('\n') == 4 and '| BasicMotions | 100 | iars | 3 |' in t

def test_failed_run_is_a_row_not_a_crash():
    r = run_isolated(spec='/nonexistent.npz', mode='full', iters=1)
    assert 'error' in r and 'no such file' in r['error']
    assert 'failed' in modes_table([r])

def bench_exit(monkeypatch, argv)->int:
    "The exit status of the `hierts_bench` console command (`bench_main`) on `argv`"
    monkeypatch.setattr(sys, 'argv', ['hierts_bench', *argv])
    with pytest.raises(SystemExit) as e: bench_main()
    return e.value.code

@pytest.mark.parametrize('argv,msg', [
    (['modes', '--data', '/nonexistent.npz', '--modes', 'full', '--iters', '1', '--no-eval'], 'no such file'),
    (['modes', '--modes', 'full,fast'], "unknown mode 'fast'"),
    (['study', '--data', 'BasicMotions', '--configs', 'full,best'], "unknown study configuration 'best'"),
])
def test_bench_bad_options_one_line_error(argv, msg, capsys, monkeypatch):
    "bad data or options: one line on stderr, exit status 2, before any run"
    assert bench_exit(monkeypatch, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0] and 'Traceback' not in err[0], err

@pytest.mark.parametrize('argv,msg', [
    ([], 'required: SUBCOMMAND'),
    (['fast'], "invalid choice: 'fast'"),
    (['modes', '--dataset', 'X'], 'unrecognized arguments: --dataset X'),     # one --data per subcommand now
    (['loss', '64', '--data', 'y.npz'], 'unrecognized arguments: --data y.npz'),   # an option of another subcommand
    (['steps'], 'required: lengths'),
])
def test_bench_usage_errors(argv, msg, capsys, monkeypatch):
    "argparse's usage errors: exit status 2 with the usage and the reason"
    assert bench_exit(monkeypatch, argv) == 2
    err = capsys.readouterr().err
    assert 'usage: hierts_bench' in err and msg in err, err

def test_pretrain_bad_npz(tmp_path, capsys):
    "a bad npz: one line naming the problem (exit status 2); series without labels are pretrained and saved, not evaluated"
    bad, rng = tmp_path / 'bad.npz', np.random.default_rng(0)
    np.savez(bad, X_train=np.zeros((4, 2, 10)), y_train=np.zeros(3), X_test=np.zeros((2, 2, 10)), y_test=np.zeros(2))
    assert run_command(hierts_pretrain, ['--data', str(bad)]) == 2
    assert 'y_train has 3 labels for 4 series' in capsys.readouterr().err
    np.savez(bad, X_train=np.zeros((4, 10)), y_train=np.zeros(4), X_test=np.zeros((2, 2, 10)), y_test=np.zeros(2))
    assert run_command(hierts_pretrain, ['--data', str(bad)]) == 2
    assert ('X_train must be an array of shape (n_series, channels, length), got shape (4, 10); add a channel axis'
            in capsys.readouterr().err)
    np.savez(bad, X_train=np.zeros((4, 2, 10)), y_test=np.zeros(2))
    assert run_command(hierts_pretrain, ['--data', str(bad)]) == 2
    assert 'has y_test but no X_test' in capsys.readouterr().err
    np.savez(bad, X_train=np.zeros((4, 2, 10)), X_test=np.zeros((2, 3, 10)))
    assert run_command(hierts_pretrain, ['--data', str(bad)]) == 2
    assert 'X_train has 2 channels but X_test has 3' in capsys.readouterr().err
    assert run_command(hierts_pretrain, ['--iters', '0']) == 2
    assert '--iters must be at least 1, got 0' in capsys.readouterr().err
    small = ['--iters', '2', '--repr-dims', '8', '--bs', '4', '--quiet']
    for i, arrays in enumerate([dict(X_train=rng.standard_normal((4, 2, 10))),
                                dict(X_train=rng.standard_normal((4, 2, 10)), y_train=np.array([0, 1, 0, 1]))]):
        np.savez(bad, **arrays)
        out = tmp_path / f'enc{i}.pth'
        assert run_command(hierts_pretrain, ['--data', str(bad), *small, '--out', str(out)]) == 0
        text = capsys.readouterr().out
        assert out.exists() and 'no evaluation: the data has no y_train, X_test and y_test' in text and 'accuracy' not in text

def test_unknown_dataset_offline_points_to_data(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)       # tsai's cache folder is relative: an empty one here
    assert run_command(hierts_pretrain, ['--dataset', 'NoSuchDataset123', '--iters', '1']) == 2
    err = capsys.readouterr().err
    assert '--data PATH' in err and 'NoSuchDataset123' in err

def test_pretrain_main_job_runs_and_saves(tmp_path, capsys):
    out = tmp_path / 'enc.pth'
    assert run_command(hierts_pretrain, ['--iters', '5', '--repr-dims', '16', '--quiet', '--out', str(out)]) == 0
    text = capsys.readouterr().out
    assert out.exists() and 'SVM accuracy on BasicMotions' in text
    out = tmp_path / 'enc2.pth'
    assert run_command(hierts_pretrain, ['--iters', '2', '--repr-dims', '16', '--quiet', '--no-eval', '--out', str(out)]) == 0
    text = capsys.readouterr().out
    assert out.exists() and '(no evaluation: --no-eval)' in text and 'accuracy' not in text

def test_loss_and_step_benchmarks_write_their_rows(tmp_path, capsys):
    "`loss` and `steps` run each mode in a fresh process and write the rows they print"
    out = tmp_path / 'loss.json'
    hierts_bench(['loss', '64', '--bs', '2', '--quiet', '--json', str(out)])
    rows = json.loads(out.read_text())
    assert [(r['mode'], r['level']) for r in rows] == [('hierarchical', None), ('finest-level', 0), ('coarse-level', 3)]
    assert len({round(r['loss'], 5) for r in rows}) == 3 and all(r['step_s'] > 0 for r in rows)
    assert '| 64 | coarse-level | 3 |' in capsys.readouterr().out
    out = tmp_path / 'steps.json'
    hierts_bench(['steps', '32', '--bs', '2', '--quiet', '--json', str(out)])
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
