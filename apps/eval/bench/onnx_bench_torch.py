"""PyTorch fp32 reference for bench/onnx-bench.ts: a ViT-B/16 video tower with TimeSformer's divided
space-time blocks (CLIP block + temporal branch), random weights, one clip [1, T, 224, 224, 3].

One process per round: builds the model, one untimed warm-up forward, then one timed forward.
Prints one JSON line {"seconds": s, "threads": n, "torch": version}.
Usage: python3 onnx_bench_torch.py FRAMES THREADS
"""
import json
import sys
import time

import torch
from torch import nn

T, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
D, H, L, P, R, E = 768, 12, 12, 16, 224, 512
S = (R // P) ** 2


def attention(qkv: nn.Linear, proj: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    g, n, _ = x.shape
    q, k, v = qkv(x).reshape(g, n, 3, H, D // H).permute(2, 0, 3, 1, 4)
    w = torch.softmax(q @ k.transpose(-2, -1) * (D // H) ** -0.5, dim=-1)
    return proj((w @ v).transpose(1, 2).reshape(g, n, D))


class DividedBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln1, self.ln2, self.tln = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.tqkv, self.tproj, self.tfc = nn.Linear(D, 3 * D), nn.Linear(D, D), nn.Linear(D, D)
        self.fc1, self.fc2 = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        cls, p = x[:, :1], x[:, 1:]  # patches frame-major [b, T*S, D]
        pt = p.reshape(b, T, S, D).transpose(1, 2).reshape(b * S, T, D)
        t_res = self.tfc(attention(self.tqkv, self.tproj, self.tln(pt)))
        xt = p + t_res.reshape(b, S, T, D).transpose(1, 2).reshape(b, T * S, D)
        sp = torch.cat([cls.repeat(1, T, 1).reshape(b * T, 1, D), xt.reshape(b * T, S, D)], 1)
        s_res = attention(self.qkv, self.proj, self.ln1(sp)).reshape(b, T, 1 + S, D)
        h = torch.cat([cls + s_res[:, :, :1].mean(1), xt + s_res[:, :, 1:].reshape(b, T * S, D)], 1)
        m = self.fc1(self.ln2(h))
        return h + self.fc2(m * torch.sigmoid(1.702 * m))


class VideoTower(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Linear(P * P * 3, D, bias=False)
        self.cls = nn.Parameter(torch.randn(D) * 0.02)
        self.pos = nn.Parameter(torch.randn(1 + S, D) * 0.02)
        self.time = nn.Parameter(torch.zeros(T, D))
        self.ln_pre, self.ln_post = nn.LayerNorm(D), nn.LayerNorm(D)
        self.blocks = nn.ModuleList(DividedBlock() for _ in range(L))
        self.out = nn.Linear(D, E, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [b, T, R, R, 3] channels-last
        b = x.shape[0]
        g = R // P
        patches = x.reshape(b, T, g, P, g, P, 3).permute(0, 1, 2, 4, 3, 5, 6).reshape(b, T, S, P * P * 3)
        tok = self.patch(patches) + self.pos[1:] + self.time[:, None]  # [b, T, S, D]
        cls = (self.cls + self.pos[0]).expand(b, 1, D)
        h = self.ln_pre(torch.cat([cls, tok.reshape(b, T * S, D)], 1))
        for blk in self.blocks:
            h = blk(h)
        return self.out(self.ln_post(h[:, 0]))


model = VideoTower().eval()
x = torch.randn(1, T, R, R, 3)
with torch.no_grad():
    model(x)
    t0 = time.perf_counter()
    y = model(x)
    s = time.perf_counter() - t0
assert y.shape == (1, E)
print(json.dumps({"seconds": s, "threads": threads, "torch": torch.__version__}))
