#!/usr/bin/env bash
# The GPU check, on one CUDA GPU, in under 8 minutes (an H200 is the machine it is sized for):
#   1. installs what it needs (from the package registries; WHEELS=DIR installs from local wheels instead, for a
#      machine without network: tsai, fastai, fastcore, fastprogress, fastdownload, fasttransform, pyts,
#      imbalanced-learn, sklearn-compat, jupyter_core, platformdirs, traitlets, plum-dispatch, beartype);
#   2. hierts_bench for full, iars, iars-p10 and encoder at T = 1000, 2500, 5000 (TS2Vec's defaults, batch 8);
#   3. one training step at T = 20000 and 100000 with peak GPU memory (encoder floor, dense, blockwise IARS);
#   4. kernel launches and host syncs per training step, the syncs counted by CUDA itself (set_sync_debug_mode);
#   5. the test suite (the gpu-marked tests run here);
#   then prints one table naming the card. Outputs go to ${OUT:-device_check_out}.
#   bash tools/device_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-device_check_out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU here: this check needs one')" || exit 2
t0=$(date +%s)
echo "== install"
if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --find-links "$WHEELS" "$WHEELS"/*.whl && python3 -m pip install -q --no-deps -e . || exit 1
else
  python3 -m pip install -q -e ".[dev]" || exit 1     # torch is already there: a range it satisfies installs nothing more
fi
python3 -c "import hierts_tsai, tsai, torch; print('hierts_tsai', hierts_tsai.__version__, '/ tsai', tsai.__version__, '/ torch', torch.__version__, '/', torch.cuda.get_device_name(0))"
echo "== training modes, T = 1000, 2500, 5000 (30 iterations each, batch 8)"
hierts_bench modes --synthetic 1000,2500,5000 --modes full,iars,iars-p10,encoder --iters 30 --no-eval --device cuda --json "$OUT/epoch.json" | tee "$OUT/epoch.md"
echo "== one step, T = 20000 and 100000"
hierts_bench steps 20000,100000 --json "$OUT/steps.json" | tee "$OUT/steps.md"
echo "== launches and syncs per step"
hierts_bench ops 1000,3000 --device cuda --json "$OUT/ops.json" | tee "$OUT/ops.md"
echo "== tests"
timeout 240 python3 -m pytest -q -x -p no:cacheprovider --timeout 200 2>&1 | tail -5 | tee "$OUT/tests.txt"
echo "== the table"
python3 - "$OUT" <<'PY'
import json, sys, torch
from pathlib import Path
from hierts_research.runs import summarize
out = Path(sys.argv[1])
print(f"card: {torch.cuda.get_device_name(0)} ({torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB); torch {torch.__version__}")
print('| what | T | mode | s/iter or s/step | vs full | peak GPU MB | CUDA syncs / ordinary step |')
print('|---|---|---|---|---|---|---|')
ops = {r['mode']: r for r in json.loads((out / 'ops.json').read_text())['steps']} if (out / 'ops.json').exists() else {}
if (out / 'epoch.json').exists():
    for s in summarize(json.loads((out / 'epoch.json').read_text())):
        if 'fit_s' not in s: continue
        sy = ops.get(s['mode'], {}).get('other_cuda_syncs')
        print(f"| training | {s['length']} | {s['mode']} | {s['s_per_iter']:.4f} | {s['ratio']:.2f} | {s['peak_mem_mb']:.0f} | {'—' if sy is None else f'{sy:.2f}'} |")
if (out / 'steps.json').exists():
    for r in json.loads((out / 'steps.json').read_text()):
        if 'error' in r: print(f"| one step | {r['length']} | {r['mode']} | {r['error']} | | | |"); continue
        print(f"| one step | {r['length']} | {r['mode']} | {r['step_s']:.3f} | | {r['peak_mem_mb']:.0f} | |")
print('tests:', (out / 'tests.txt').read_text().strip().splitlines()[-1] if (out / 'tests.txt').exists() else 'not run')
PY
echo "device check: $(( $(date +%s) - t0 )) s"
