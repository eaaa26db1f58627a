"""Time per iteration before and after a change: BasicMotions, `full` and `iars`, seeds 0..n-1, 200 iterations, float32
(the precision both versions train in), each run in a fresh process with one thread, before and after alternated.

    git worktree add /tmp/hierts_before a912966           # the package before the change
    python tools/before_after.py --before /tmp/hierts_before --seeds 3 --json benchmarks/before_after.json

Prints the machine line and one table: per mode, the median over seeds of seconds per iteration (the median of each
run's iteration times) before and after, and the median of the per-seed ratios after / before."""
import argparse, json, os, subprocess, sys
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUN = r'''
import sys, json, time, warnings
warnings.simplefilter('ignore')
which, path, mode, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if which == 'before':
    sys.path.insert(0, path)
    sys.meta_path = [f for f in sys.meta_path if 'editable' not in repr(f).lower() and 'editable' not in getattr(f, '__module__', '').lower()]
import numpy as np, torch
import hierts_tsai
from tsai.data.core import get_ts_dls
from fastai.callback.core import Callback
from hierts_tsai.learner import ts2vec_learner
from hierts_tsai.iars import IARS
from hierts_tsai.data import load_dataset, standardize
class Clock(Callback):
    order = -100
    def before_fit(self): self.t = []
    def before_batch(self):
        if self.training: self.t.append(time.perf_counter())
    def after_fit(self): self.t.append(time.perf_counter())
d = standardize(load_dataset())
kw = {} if which == 'before' else dict(precision='float32')
learn = ts2vec_learner(get_ts_dls(d['X_train'], bs=8), cbs=[IARS(mode)], seed=seed, **kw)
c = Clock()
with learn.no_bar(), learn.no_logging(): learn.fit_iters(200, cbs=c)
print('@@' + json.dumps(dict(which=which, mode=mode, seed=seed, step_med_s=float(np.median(np.diff(c.t))),
                             s_per_iter=(c.t[-1] - c.t[0]) / 200, file=hierts_tsai.__file__)))
'''

def run(which, path, mode, seed):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    p = subprocess.run([sys.executable, '-c', RUN, which, str(path), mode, str(seed)], capture_output=True, text=True, env=env, cwd='/tmp')
    line = [l for l in p.stdout.splitlines() if l.startswith('@@')]
    if not line: sys.exit(f'{which} {mode} {seed} failed:\n{p.stderr[-3000:]}')
    return json.loads(line[-1][2:])

def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--before', required=True, help='a checkout of the package before the change')
    a.add_argument('--seeds', type=int, default=3); a.add_argument('--json')
    args = a.parse_args()
    rows = [run(w, args.before if w == 'before' else ROOT, m, s) for s in range(args.seeds) for m in ('full', 'iars') for w in ('before', 'after')]
    sys.path.insert(0, str(ROOT))
    from hierts_research.runs import machine
    print(f'machine: {machine()}\ncommand: python tools/before_after.py --before {args.before} --seeds {args.seeds}\n')
    print('| mode | seeds | before: s/iter (median) | after: s/iter (median) | after / before (median of per-seed ratios) |\n|---|---|---|---|---|')
    for m in ('full', 'iars'):
        b = [r['step_med_s'] for r in rows if r['mode'] == m and r['which'] == 'before']
        f = [r['step_med_s'] for r in rows if r['mode'] == m and r['which'] == 'after']
        print(f'| {m} | {len(b)} | {np.median(b):.4f} | {np.median(f):.4f} | {np.median(np.array(f) / np.array(b)):.3f} |')
    if args.json: Path(args.json).write_text(json.dumps(rows, indent=1))

if __name__ == '__main__': main()
