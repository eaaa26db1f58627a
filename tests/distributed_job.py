"""The distributed IARS job of `tests/test_distributed.py`: 20 steps of a small `ts2vec_learner` with `IARS`
under fastai's distributed training (accelerate), one process per rank; CPU and gloo when there is no GPU.

    CUDA_VISIBLE_DEVICES= accelerate launch --multi_gpu --num_processes 2 --main_process_port 0 tests/distributed_job.py OUTDIR

(`accelerate launch --cpu --num_processes 2` starts ONE process: accelerate's multi-process CPU launch needs mpirun;
`--multi_gpu` is its torchrun launcher, and `distrib_ctx(cpu=True)` below makes accelerate use gloo on the CPU.
`torchrun --standalone --nproc_per_node 2 tests/distributed_job.py OUTDIR` works the same.)

Each rank writes OUTDIR/rank{r}.json (its IARS levels, depths, per-level vectors, scores, draws and what it trained
with) and OUTDIR/rank{r}.pt (the model's and the SWA model's weights after the last step)."""
import json, os, sys, warnings
from pathlib import Path
import torch
from fastai.callback.core import Callback

N_ITERS = 20

class Own(Callback):
    "This rank's own per-level vector of each probe step (`IARS._probe`, set by its loss), before IARS averages it across ranks"
    order = 4 # `after_batch` before `IARS` (order 5) reads and clears it
    def before_fit(self): self.own = []
    def after_batch(self):
        if self.training: self.own.append([float(x) for x in self.learn.iars._probe.tolist()])

class Probe(Callback):
    "Record each training step what the test compares across ranks"
    order = 6 # `after_batch` after `IARS` (order 5) has scored and drawn; `before_batch` after `TS2VecViews` (order 0)
    def before_fit(self):
        import torch.distributed as dist
        self.rec = dict(backend=dist.get_backend() if dist.is_initialized() else None,
                        batch_sum=[], probs=[], last=[], target=[])
    def before_batch(self):
        if self.training: self.rec['batch_sum'].append(float(self.learn.xb[0].double().sum())) # this rank's data
    def after_batch(self):
        if not self.training: return
        cb, r = self.learn.iars.choice, self.rec # the strategy (`Importance`) holds the scores and the draw
        r['probs'].append(None if cb.probs is None else [float(p) for p in cb.probs])
        r['last'].append(None if cb.last is None else [float(v) for v in cb.last])
        r['target'].append(cb.target)
        dl = self.learn.dl # as trained; the last epoch of `fit_iters` may be `take` (IterLimit's first n batches) of fastai's DL
        name = f'take({type(dl.dl).__name__})' if type(dl).__name__ == 'take' else type(dl).__name__
        r['model_type'] = type(self.learn.model).__name__
        r.setdefault('dl_types', []).append(name)

def main(out):
    from tsai.data.core import get_ts_dls
    from fastai.distributed import DistributedTrainer # noqa: F401 (adds `Learner.distrib_ctx`)
    from fastai.torch_core import rank_distrib, num_distrib
    from hierts_tsai.data import load_dataset, standardize
    from hierts_tsai.learner import ts2vec_learner
    from hierts_tsai.iars import IARS

    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    rank, world = rank_distrib(), num_distrib()
    X = standardize(load_dataset())['X_train']
    # a different IARS generator on each rank: identical draws show that every rank uses rank 0's
    iars = IARS(seed=1000 + rank)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = ts2vec_learner(get_ts_dls(X, bs=8), arch_config=dict(depth=2, hidden=16), repr_dims=32,
                               seed=0, cbs=[iars, Probe(), Own()])
    with learn.distrib_ctx(cpu=not torch.cuda.is_available()), learn.no_bar(), learn.no_logging():
        learn.fit_iters(N_ITERS)
    h = iars.history
    res = dict(rank=rank, world=world, n_steps=iars.step, **learn.probe.rec, level=h['level'], depth=h['depth'],
               n_levels=h['n_levels'], vector=h['vector'], own=learn.own.own, loss=h['loss'], a=iars.choice.a)
    (out / f'rank{rank}.json').write_text(json.dumps(res))
    sd = lambda m: {k: v.detach().cpu() for k, v in m.state_dict().items()}
    torch.save({'model': sd(learn.model), 'swa': sd(learn.swa_model)}, out / f'rank{rank}.pt')

if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ['HIERTS_DIST_OUT'])
