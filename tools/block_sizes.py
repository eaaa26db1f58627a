"""The measurement behind `CPU_MAX_DENSE`: forward + backward time of the temporal term (B=8, 320 dims, random views) at
T = 1000 and 2500, dense and in square blocks of several sizes; the best of 3 calls each. Run it alone on the machine.

    python tools/block_sizes.py"""
import time, torch
from hierts_tsai.losses import contrast

def main():
    torch.manual_seed(0)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    for T in (1000, 2500):
        z = (torch.randn(8, 2 * T, 320) * 0.1).requires_grad_()
        for b in (None, 256, 512, 724, 1024, 1448, 2048):
            if b is not None and b >= 2 * T: continue
            ts = []
            for _ in range(3):
                z.grad = None
                t0 = time.perf_counter(); contrast(z, b).backward(); ts.append(time.perf_counter() - t0)
            el = 8 * (2 * T if b is None else b) ** 2
            print(f"T={T} block={'dense' if b is None else b} elements per block={el:.2e} fwd+bwd {min(ts):.3f} s", flush=True)

if __name__ == '__main__': main()
