"""fastai distributed training (accelerate, 2 CPU processes, gloo) of a small `ts2vec_learner` with `IARS`"""
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch

JOB = Path(__file__).with_name('distributed_job.py')
N_ITERS, TIMEOUT = 20, 300

def launch_cmd(out):
    "README's launch command: accelerate's torchrun launcher, 2 processes; the job selects the CPU (gloo) without a GPU"
    return [sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', '2',
            '--num_machines', '1', '--main_process_port', '0', '--mixed_precision', 'no', '--dynamo_backend', 'no',
            '--num_cpu_threads_per_process', '1', str(JOB), str(out)]

@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp('distributed')
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'ACCELERATE_USE_CPU': '1', 'OMP_NUM_THREADS': '1'}
    p = subprocess.run(launch_cmd(out), env=env, cwd=JOB.parents[1], capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, f"the distributed job failed:\n{p.stdout[-3000:]}\n{p.stderr[-6000:]}"
    files = [out / f'rank{r}.json' for r in (0, 1)]
    assert all(f.exists() for f in files), f"missing results: {sorted(x.name for x in out.iterdir())}\n{p.stderr[-3000:]}"
    return [json.loads(f.read_text()) for f in files], [torch.load(out / f'rank{r}.pt') for r in (0, 1)]

def _mean_aligned(a, b):
    "Mean of two per-level vectors (finest first) aligned from the coarsest level, NaN (a level not computed) left out"
    a, b = np.asarray(a, dtype=np.float64)[::-1], np.asarray(b, dtype=np.float64)[::-1]
    k = max(len(a), len(b))
    s, c = np.zeros(k), np.zeros(k)
    for v in (a, b):
        ok = ~np.isnan(v)
        s[:len(v)][ok] += v[ok]; c[:len(v)][ok] += 1
    with np.errstate(invalid='ignore'): return (s / c)[::-1]

@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 60)
def test_distributed_iars(ranks):
    from hierts_tsai.iars import iars_probs
    (r0, r1), (w0, w1) = ranks
    # a real 2-process DDP run on the CPU: gloo, DistributedDataParallel, fastai's DistributedDL, each rank its own data
    for r, d in enumerate((r0, r1)):
        assert (d['rank'], d['world'], d['backend']) == (r, 2, 'gloo')
        assert d['model_type'] == 'DistributedDataParallel' and len(d['dl_types']) == N_ITERS
        # fastai's DistributedDL every step: itself, or the first batches of it that `IterLimit` hands over (`take`)
        assert set(d['dl_types']) <= {'DistributedDL', 'take(DistributedDL)'} and d['dl_types'][0] == 'DistributedDL', d['dl_types']
        assert d['n_steps'] == N_ITERS and len(d['level']) == N_ITERS and len(d['batch_sum']) == N_ITERS
        assert None not in d['level'] and all(np.isfinite(d['loss']))
    assert r0['batch_sum'] != r1['batch_sum'], "both ranks trained on the same batches"
    # every rank trains the same level each step (one generator, seeded from rank 0, though each rank was given its own seed)
    assert r0['level'] == r1['level'] and r0['depth'] == r1['depth'] and r0['n_levels'] == r1['n_levels']
    assert r0['target'] == r1['target']
    # IARS scores the per-level losses averaged across ranks: identical scores, from the mean of the ranks' own vectors
    assert r0['own'] != r1['own'], "the ranks' per-level losses should differ (different data)"
    assert r0['last'] == r1['last'] and r0['probs'] == r1['probs'] and r0['vector'] == r1['vector']
    means = [_mean_aligned(a, b) for a, b in zip(r0['own'], r1['own'])]
    for t in range(N_ITERS):
        np.testing.assert_allclose(r0['last'][t], means[t], rtol=1e-12)
        if t == 0: assert r0['probs'][t] is None
        else: np.testing.assert_allclose(r0['probs'][t], iars_probs(means[t - 1], means[t], r0['a']), rtol=1e-12)
    # identical weights on both ranks after the 20 steps (and the same weight average)
    for k in ('model', 'swa'):
        assert w0[k].keys() == w1[k].keys()
        diff = [n for n in w0[k] if not torch.equal(w0[k][n], w1[k][n])]
        assert not diff, f"{k} weights differ across ranks: {diff}"
    assert int(w0['swa']['n_averaged']) == N_ITERS + 1
