"""Distributed IARS job for `tests/test_distributed.py`: 20 steps of a small `ts2vec_learner` with `IARS()` under
fastai's distributed training (accelerate), one process per rank, CPU + gloo when there is no GPU.

    ACCELERATE_USE_CPU=1 OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node 2 tests/distributed_job.py OUTDIR

Each rank writes OUTDIR/rank{r}.json (levels, depths, IARS state) and OUTDIR/rank{r}.pt (model and SWA weights)."""
import json, os, sys, warnings
from pathlib import Path
import torch

N_ITERS = 20

def main(out):
    from tsai.data.core import get_ts_dls
    from fastai.distributed import distrib_ctx  # noqa: F401 (patches Learner with distrib_ctx / to_distributed)
    from fastai.torch_core import rank_distrib, num_distrib
    import torch.distributed as dist
    from hierts_tsai.data import load_dataset, standardize
    from hierts_tsai.learner import ts2vec_learner
    from hierts_tsai.iars import IARS

    # --- TEMPORARY monkeypatches (library fixes reported, to be removed) ---
    from fastai.distributed import DistributedDL
    def _broadcast(self, t, rank):
        t = torch.tensor(t, dtype=torch.long)
        if dist.get_backend() == 'nccl': t = t.cuda()
        dist.broadcast(t, rank)
        return t.cpu().tolist()
    DistributedDL._broadcast = _broadcast
    from hierts_tsai.learner import TS2VecLearner
    from fastai.learner import Learner
    def _do_epoch_validate(self, ds_idx=1, dl=None):
        if dl is None and len(self.dls[ds_idx]) == 0: return
        Learner._do_epoch_validate(self, ds_idx, dl)
    TS2VecLearner._do_epoch_validate = _do_epoch_validate
    # --- end TEMPORARY ---
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    rank, world = rank_distrib(), num_distrib()
    X = standardize(load_dataset())['X_train']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = ts2vec_learner(get_ts_dls(X, bs=8), arch_config=dict(depth=2, hidden=16), repr_dims=32,
                               seed=0, cbs=IARS())
    cb = learn.iars
    with learn.distrib_ctx(cpu=not torch.cuda.is_available()), learn.no_bar(), learn.no_logging():
        ddp = type(learn.model).__name__ # unwrapped again when the context ends
        learn.fit_iters(N_ITERS)
        backend = dist.get_backend() if dist.is_initialized() else None
        dl_type = type(learn.dl).__name__
    model = learn.model
    res = dict(rank=rank, world=world, backend=backend, ddp_wrapper=ddp, train_dl=dl_type,
               n_steps=cb.step, level=cb.history['level'], depth=cb.history['depth'],
               n_levels=cb.history['n_levels'], loss=cb.history['loss'],
               last=None if cb.last is None else list(map(float, cb.last)),
               probs=None if cb.probs is None else list(map(float, cb.probs)),
               checksum=float(sum(p.detach().double().sum() for p in model.parameters())))
    (out / f'rank{rank}.json').write_text(json.dumps(res))
    torch.save({'model': {k: v.detach().cpu() for k, v in model.state_dict().items()},
                'swa': None if learn.swa_model is None else {k: v.detach().cpu() for k, v in learn.swa_model.state_dict().items()}},
               out / f'rank{rank}.pt')

if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get('HIERTS_DIST_OUT', 'dist_out'))
