"""Same shapes as bench.ts in PyTorch (CPU): divided space-time blocks (TimeSformer on CLIP's block).

Prints one JSON line: {"threads", "torch", "forward_s", "forward_backward_s"} (minimum over runs).
Usage: /usr/bin/python3 torch_bench.py BLOCKS B T GRID WIDTH HEADS RUNS THREADS
"""
import json
import sys
import time

import torch
import torch.nn as nn

blocks, B, T, G, D, H, runs, threads = (int(a) for a in sys.argv[1:9])
torch.set_num_threads(threads)
torch.manual_seed(0)
S = G * G


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x):  # [G, N, D]
        g, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(g, n, 3, H, D // H).permute(2, 0, 3, 1, 4)
        a = torch.softmax((q * (D // H) ** -0.5) @ k.transpose(-2, -1), dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(g, n, D))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2, self.tnorm = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn, self.tattn = Attn(), Attn()
        self.tfc = nn.Linear(D, D)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), QuickGELU(), nn.Linear(4 * D, D))

    def forward(self, x):  # [B, 1 + T*S, D], frame-major patches
        cls, p = x[:, :1], x[:, 1:]
        xt = p.reshape(B, T, S, D).transpose(1, 2).reshape(B * S, T, D)
        res = self.tfc(self.tattn(self.tnorm(xt))).reshape(B, S, T, D).transpose(1, 2).reshape(B, T * S, D)
        xt = p + res
        xs = torch.cat([cls.repeat(1, T, 1).reshape(B * T, 1, D), xt.reshape(B * T, S, D)], 1)
        r = self.attn(self.norm1(xs)).reshape(B, T, 1 + S, D)
        h = torch.cat([cls + r[:, :, :1].mean(1), xt + r[:, :, 1:].reshape(B, T * S, D)], 1)
        return h + self.mlp(self.norm2(h))


# LSS_BENCH_DEVICE=cuda times on a GPU (tooling/gpu/run-on-gpu.sh); default cpu.
device = __import__("os").environ.get("LSS_BENCH_DEVICE", "cpu")
model = nn.Sequential(*[Block() for _ in range(blocks)]).to(device)
x = torch.randn(B, 1 + T * S, D).to(device)
sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)


def fwd():
    with torch.no_grad():
        model(x)


def fwd_bwd():
    model.zero_grad(set_to_none=True)
    model(x).sum().backward()


def best(fn):
    times = []
    for _ in range(runs + 1):  # first run is warm-up
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


print(json.dumps({"device": device, "threads": threads, "torch": torch.__version__, "forward_s": best(fwd), "forward_backward_s": best(fwd_bwd)}))
