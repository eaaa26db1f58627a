#!/usr/bin/env bash
# The benchmark runs behind README's numbers, in order; each writes a markdown table (.md: the machine line, the command,
# the table), its rows (.json) and plots (.png) into benchmarks/. The timing runs (first block) take about 2.5 hours on
# a 2-core CPU: run them on an otherwise idle machine (anything else running distorts the timings). The studies
# (second block) take longer; they run with one thread each, two at a time, and report accuracy first.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
mkdir -p benchmarks
run() { local name=$1; shift; echo "== $name: hierts_bench $*"; hierts_bench "$@" --json "benchmarks/$name.json" > "benchmarks/$name.md"; cat "benchmarks/$name.md"; }
# -- timing (alone on the machine, default threads)
run ops --ops 1000,3000
run basicmotions --modes full,iars,iars-p10,random,encoder,plain --seeds 3 --png benchmarks
run overhead_basicmotions --overhead --seeds 4 --iters 60
run epoch_time --synthetic 1000,2500 --modes full,iars,iars-p10,encoder --iters 50 --no-eval
run loss --loss 256,1024,4096
run steps --steps 2500,5000,10000,20000
run scaling --synthetic 500,1000,2000,4000,8000 --modes full,iars,encoder --iters 10 --max-train-length 0 --no-eval --png benchmarks
# TS2Vec's rule gives 600 iterations here (about an hour per seed for the three modes on 2 cores); the README's table uses 200
run standwalkjump --data ../shared/data/StandWalkJump.npz --modes full,iars,iars-p10 --seeds 3 --iters 200 --png benchmarks
# -- studies (accuracy first; one thread each, two at a time): the IARS study, then the tutorials' experiments
export OMP_NUM_THREADS=1
study() { echo "== study: hierts_bench $*"; hierts_bench "$@"; }
study --study BasicMotions --seeds 3 --iters 200 --json benchmarks/iars_study.json &
study --study resolution2048 --seeds 3 --iters 100 --json benchmarks/iars_study_resolution.json
wait
study --study BasicMotions --configs full,iars --imbalance 0.1 --seeds 3 --iters 200 --json benchmarks/iars_study.json &
study --study resolution2048 --configs full,iars --imbalance 0.1 --seeds 3 --iters 100 --json benchmarks/iars_study_resolution_imb.json
wait
study --study ../shared/data/StandWalkJump.npz --configs iars-depth,random,fixed-finest,fixed-coarsest --seeds 3 --iters 200 --json benchmarks/iars_study_swj.json
run transfer --transfer-study --seeds 10
run regression --regression-study --data ../shared/data/Covid3Month.npz --seeds 3
