#!/usr/bin/env bash
# The benchmark runs behind README's numbers, in order; each writes a markdown table (.md), its rows (.json) and
# plots (.png) into benchmarks/. On a 2-core CPU they take about 3 hours in all; run them on an otherwise idle machine
# (anything else running distorts the timings).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
mkdir -p benchmarks
run() { local name=$1; shift; echo "== $name: hierts_bench $*"; hierts_bench "$@" --json "benchmarks/$name.json" > "benchmarks/$name.md"; cat "benchmarks/$name.md"; }
run basicmotions --modes full,iars,iars-p10,random,encoder,plain --seeds 3 --png benchmarks
run overhead_basicmotions --overhead --seeds 4 --iters 60
run overhead_standwalkjump --overhead --data ../shared/data/StandWalkJump.npz --seeds 3 --iters 20
run epoch_time --synthetic 1000,2500 --modes full,iars,iars-p10,encoder --iters 50 --no-eval
run steps --steps 2500,5000,10000,20000
run loss --loss 256,1024,4096
run scaling --synthetic 500,1000,2000,4000,8000 --modes full,iars,encoder --iters 10 --max-train-length 0 --no-eval --png benchmarks
# TS2Vec's rule gives 600 iterations here (about an hour per seed for the three modes on 2 cores); the README's table used 200
run standwalkjump --data ../shared/data/StandWalkJump.npz --modes full,iars,encoder --seeds 3 --iters 200 --png benchmarks
