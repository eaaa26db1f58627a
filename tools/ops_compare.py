"""Ops per loss forward+backward and host syncs per training step, before and after: official TS2Vec's loss, this
package at an earlier commit, and the package as installed, all counted with `hierts_research.counting.OpCounter`'s rules.

    git worktree add /tmp/hierts_before e2a8a89                          # the package before the memory budget
    git clone https://github.com/zhihanyue/ts2vec /tmp/ts2vec            # official TS2Vec (its models/losses.py)
    python tools/ops_compare.py --before /tmp/hierts_before --official /tmp/ts2vec --json benchmarks/ops_compare.json

Each part runs in its own process (the earlier package is imported in place of the installed one), one thread."""
import argparse, json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def counter_source()->str:
    "OpCounter and StepCounts, cut from the installed harness's counting module, so that an earlier package is counted by today's rules"
    s = (ROOT / 'research' / 'hierts_research' / 'counting.py').read_text()
    head = ("import torch, weakref\nimport numpy as np\nfrom collections import Counter\n"
            "from torch.utils._python_dispatch import TorchDispatchMode\nfrom torch.overrides import TorchFunctionMode\n"
            "from fastai.callback.core import Callback\n")
    return head + s[s.index('_READS ='):s.index('def loss_ops(')] + s[s.index('class StepCounts(Callback):'):s.index('def step_ops(')]

PART = r'''
import sys, json, warnings, collections
warnings.simplefilter('ignore')
which, path = sys.argv[1], sys.argv[2]
if which == 'before':
    sys.path.insert(0, path)
    sys.meta_path = [f for f in sys.meta_path if 'editable' not in repr(f).lower() and 'editable' not in getattr(f, '__module__', '').lower()]
import torch, numpy as np
exec(COUNTER)
def loss_counts(fn, T, bs=8, dims=320):
    g = torch.Generator().manual_seed(0)
    z1, z2 = (torch.randn(bs, dims, T, generator=g).requires_grad_() for _ in range(2))
    c = OpCounter(); c.on_device([z1, z2])
    with c: fn(z1, z2)
    return c.ops
out = {}
if which == 'official':
    sys.path.insert(0, str(__import__('pathlib').Path(path) / 'models'))
    import losses as L
    for T in (1000, 3000): out[f'loss T={T}'] = loss_counts(lambda a, b: L.hierarchical_contrastive_loss(a.transpose(1, 2), b.transpose(1, 2)).backward(), T)
else:
    from hierts_tsai.losses import hierarchical_contrastive_loss, level_loss, level_losses
    budgets = {'defaults': {}} if which == 'before' else {'dense': dict(max_dense=None), '2^26': dict(max_dense=2**26), 'auto': {}}
    for T in (1000, 3000):
        for name, kw in budgets.items():
            out[f'loss T={T} {name}'] = loss_counts(lambda a, b: hierarchical_contrastive_loss(a, b, **kw).backward(), T)
            def probe(a, b):
                level_loss(a, b, 0, **kw).backward()
                with torch.no_grad(): level_losses(a.detach(), b.detach(), skip=0, **kw)
            out[f'loss T={T} level 0 + probe {name}'] = loss_counts(probe, T)
    from tsai.data.core import get_ts_dls
    from hierts_tsai.data import synthetic_dataset
    from hierts_tsai.learner import ts2vec_learner
    from hierts_tsai.iars import IARS, Importance
    for mode in ('full', 'iars', 'iars-p10'):
        d = synthetic_dataset(1000, n_train=8 * 23, seed=0)
        cb = IARS('full') if mode == 'full' else IARS(Importance(probe_every=10 if mode == 'iars-p10' else 1))
        learn = ts2vec_learner(get_ts_dls(d['X_train'], bs=8), cbs=[cb], seed=0, precision='float32')
        c = OpCounter(); sc = StepCounts(c)
        with c, learn.no_bar(), learn.no_logging(): learn.fit_iters(21, cbs=sc)
        steps, every = sc.steps()[1:-1], (10 if mode == 'iars-p10' else 1)
        for name, keep in (('ordinary', lambda i: mode == 'full' or i % every), ('probe', lambda i: mode != 'full' and not i % every)):
            ss = [s for i, s in enumerate(steps, 1) if keep(i)]
            if ss: out[f'step {mode} {name}'] = dict(ops=float(np.mean([s[0] for s in ss])), syncs=float(np.mean([s[1] for s in ss])),
                                                    kinds={k: v / len(ss) for k, v in sum((s[2] for s in ss), collections.Counter()).items()})
print('@@' + json.dumps(out))
'''

def run(which, path):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    p = subprocess.run([sys.executable, '-c', PART.replace('COUNTER', repr(counter_source())), which, str(path)],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    line = [l for l in p.stdout.splitlines() if l.startswith('@@')]
    if not line: sys.exit(f'{which} failed:\n{p.stderr[-3000:]}')
    return json.loads(line[-1][2:])

def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--before', required=True, help='a checkout of the package at an earlier commit')
    a.add_argument('--official', required=True, help='a checkout of official TS2Vec')
    a.add_argument('--json', help='write the counts here')
    args = a.parse_args()
    res = {'official': run('official', args.official), 'before': run('before', args.before), 'after': run('after', ROOT)}
    print(json.dumps(res, indent=1))
    if args.json: Path(args.json).write_text(json.dumps(res, indent=1))

if __name__ == '__main__': main()
