#!/usr/bin/env bash
# The benchmark runs behind README's numbers; each writes a markdown table (.md: the machine line, the command, the
# table) and its rows (.json) into benchmarks/. Run on an otherwise idle machine: anything else running distorts the
# timings. The studies and baselines run with one thread each, two at a time (about 10 hours on a 2-core CPU); the
# timing runs alone, with the default threads.
#   bash tools/benchmarks.sh [timing|studies|baselines|all]     (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
mkdir -p benchmarks
what=${1:-all}
run() { local name=$1; shift; echo "== $name: hierts_bench $*"; hierts_bench "$@" --json "benchmarks/$name.json" > "benchmarks/$name.md"; cat "benchmarks/$name.md"; }
if [ "$what" = timing ] || [ "$what" = all ]; then
  run ops ops 1000,3000
  run basicmotions modes --modes full,iars,iars-p10,random,reference,encoder,plain --seeds 3 --png benchmarks
  run overhead_basicmotions overhead --iters 60 --reps 4
  run epoch_time modes --synthetic 1000,2500 --modes full,iars,iars-p10,encoder --iters 50 --no-eval
  run loss loss 256,1024,4096
  run steps steps 2500,5000,10000
  run precision precision --lengths 1000,2500 --reps 5 --compile
  ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 run precision_noamx precision --lengths 1000,2500 --reps 5    # oneDNN off the AMX tiles
  run grid_amx grid --lengths 250,1000,2500 --iters 20 --reps 3
  ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 run grid_noamx grid --lengths 250,1000,2500 --iters 20 --reps 3
  [ -d /tmp/ts2vec ] && run official official --official /tmp/ts2vec --lengths 1000,2500 --iters 20 --reps 3   # a clone of zhihanyue/ts2vec
  run importance_timing study --data resolution1024 --configs iars-epoch-fp32,random-fp32 --seeds 2 --first-seed 300 --iters 100   # issue 30: time per iteration, idle machine
  run archs archs --iters 200
fi
export OMP_NUM_THREADS=1
S=full,iars,iars-depth,random,reference,lagging,fixed-finest,iars-fp32,untrained
I=full,iars,random,reference,lagging,untrained
W=full,iars,random,reference
if [ "$what" = studies ] || [ "$what" = all ]; then
  ( run study_basicmotions study --data BasicMotions --configs $S --seeds 10 --iters 200 --cache /tmp/hierts_cache
    run study_basicmotions_imb study --data BasicMotions --imbalance 0.1 --configs $I --seeds 10 --iters 200
    run study_standwalkjump_a study --data ../shared/data/StandWalkJump.npz --configs $W --seeds 3 --iters 200 --cache /tmp/hierts_cache ) &
  ( run study_resolution1024 study --data resolution1024 --configs $S --seeds 10 --iters 100 --cache /tmp/hierts_cache
    run study_resolution1024_imb study --data resolution1024 --imbalance 0.1 --configs $I --seeds 10 --iters 100
    run study_standwalkjump_b study --data ../shared/data/StandWalkJump.npz --configs $W --seeds 2 --first-seed 3 --iters 200 --cache /tmp/hierts_cache
    run study_standwalkjump_b study --data ../shared/data/StandWalkJump.npz --configs untrained --seeds 5 --iters 200 ) &
  wait
  G=iars-exact-fp32,iars-grid-fp32   # crop lengths on a grid against TS2Vec's exact crops (benchmarks/grid2_prereg.md; the first grid's
                                     # grid_equivalence*.json came from commit 027d6c6, before the grid changed)
  E=iars-epoch-fp32,random-fp32      # issue 30's pre-registered comparison (benchmarks/importance_prereg.md)
  ( run grid2_equivalence_a study --data resolution1024 --configs $G --seeds 30 --first-seed 200 --iters 100
    run grid2_equivalence_bm study --data BasicMotions --configs $G --seeds 10 --first-seed 200 --iters 100
    run importance_a study --data resolution1024 --configs $E --seeds 24 --first-seed 100 --iters 100 ) &
  ( run grid2_equivalence_b study --data resolution1024 --configs $G --seeds 30 --first-seed 230 --iters 100
    run importance_b study --data resolution1024 --configs $E --seeds 24 --first-seed 124 --iters 100
    run fixed_level_r study --data resolution1024 --configs fixed-0,fixed-2,fixed-4,fixed-6,fixed-8 --seeds 7 --iters 100
    run fixed_level_l2 study --data resolution1024L2 --configs fixed-0,fixed-2,fixed-4,fixed-6,fixed-8 --seeds 2 --iters 100 ) &
  wait
  python tools/sweep_table.py benchmarks/fixed_level_sweep benchmarks/fixed_level_r.json benchmarks/fixed_level_l2.json
  python tools/compare.py benchmarks/grid2_equivalence iars-grid-fp32 iars-exact-fp32 benchmarks/grid2_equivalence_a.json benchmarks/grid2_equivalence_b.json benchmarks/grid2_equivalence_bm.json
  python tools/compare.py benchmarks/importance iars-epoch-fp32 random-fp32 benchmarks/importance_a.json benchmarks/importance_b.json
  python tools/level_mass.py benchmarks/level_mass benchmarks/study_*.json
fi
if [ "$what" = baselines ] || [ "$what" = all ]; then   # issue 29: every rival as tsai documents it, one tuning budget
  B=mean,majority,minirocket,multirocket,untrained,scratch-ts2vec,scratch-inceptiontimeplus,mvp-frozen,mvp-finetune,full-frozen,full-finetune,iars-frozen,iars-finetune
  L=iars-frozen,iars-finetune,minirocket+iars-frozen,iars-soft-frozen,iars-soft-finetune,iars-finetune-tuned,iars-pool-frozen,iars-pool-finetune
  C=mean,minirocket,multirocket,untrained,scratch-ts2vec,scratch-inceptiontimeplus,mvp-frozen,mvp-finetune,iars-frozen,iars-finetune
  F=majority,minirocket,multirocket,untrained,mvp-frozen,iars-frozen   # long series: frozen rows only
  K="--iters 200 --cache /tmp/hierts_fair"   # encoders shared between the tables and the levers (same seeds)
  # run so far (2026-12-03): fair_basicmotions seeds 0-9, fair_covid3month 0-2, levers_basicmotions 0-4; on Coffee (seeds 0-9) the
  # frozen rows (fair_coffee: majority,minirocket,multirocket,untrained,mvp-frozen,full-frozen,iars-frozen; levers_coffee: iars-frozen,
  # minirocket+iars-frozen,iars-soft-frozen,iars-pool-frozen), levers_coffee_finetune 0-4;
  # fair_standwalkjump 0-4, levers_standwalkjump 0-4; fair_pigcvp 0-2 (MultiRocket and MVP left out: MultiRocket ran over 14 minutes
  # of a seed on one thread), levers_pigcvp. A file's seeds are skipped whole, so Coffee's trained methods and fine-tuning levers go to files of their own
  # (the tables read every fair_*/levers_* file of a dataset together).
  ( run fair_basicmotions baselines --data BasicMotions --seeds 10 --methods $B $K
    run levers_basicmotions baselines --data BasicMotions --seeds 10 --methods $L $K
    run fair_standwalkjump baselines --data ../shared/data/StandWalkJump.npz --seeds 5 --methods $F $K
    run fair_coffee_trained baselines --data Coffee --seeds 10 --methods scratch-ts2vec,scratch-inceptiontimeplus,mvp-finetune,full-finetune,iars-finetune $K ) &
  ( run fair_covid3month baselines --data ../shared/data/Covid3Month.npz --seeds 10 --methods $C $K
    run levers_coffee_finetune baselines --data Coffee --seeds 10 --methods iars-finetune,iars-soft-finetune,iars-finetune-tuned,iars-pool-finetune $K
    run levers_standwalkjump baselines --data ../shared/data/StandWalkJump.npz --seeds 5 --methods iars-frozen,iars-pool-frozen $K
    run fair_pigcvp baselines --data PigCVP --seeds 5 --methods majority,minirocket,untrained,iars-frozen $K   # the methods seeds 0-2 ran
    run levers_pigcvp baselines --data PigCVP --seeds 5 --methods iars-frozen,iars-pool-frozen $K
    run transfer transfer --seeds 10
    run regression regression --data ../shared/data/Covid3Month.npz --seeds 3 ) &
  wait
fi
