"""The measurement behind `CPU_MAX_DENSE`: forward + backward time of the temporal term (B=8, 320 dims, random views) at
T = 1000 and 2500, dense and in square blocks of several sizes; the best of 3 calls each. Run it alone on the machine.

    python tools/block_sizes.py --json benchmarks/block_sizes.json > benchmarks/block_sizes.md"""
import argparse, json, time, torch
from hierts_tsai.losses import contrast

def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--json', help='write the rows here')
    args = a.parse_args()
    from hierts_research.runs import machine, write_json
    torch.manual_seed(0)
    print(f'machine: {machine()}\ncommand: python tools/block_sizes.py\n')
    print('| T | block rows | elements per block | fwd+bwd s (best of 3) |\n|---|---|---|---|')
    rows = []
    for T in (1000, 2500):
        z = (torch.randn(8, 2 * T, 320) * 0.1).requires_grad_()
        for b in (None, 256, 512, 724, 1024, 1448, 2048):
            if b is not None and b >= 2 * T: continue
            ts = []
            for _ in range(3):
                z.grad = None
                t0 = time.perf_counter(); contrast(z, b).backward(); ts.append(time.perf_counter() - t0)
            el = 8 * (2 * T if b is None else b) ** 2
            rows.append(dict(T=T, block=b, elements=el, s=min(ts)))
            print(f"| {T} | {'dense' if b is None else b} | {el:.2e} | {min(ts):.3f} |", flush=True)
    if args.json: write_json(args.json, rows)

if __name__ == '__main__': main()
