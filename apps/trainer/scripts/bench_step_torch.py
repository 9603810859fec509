"""PyTorch reference for apps/trainer's bench:step: the same student forward + backward.

ViT-B/16 video tower with TimeSformer's divided space-time attention (CLIP block: pre-LayerNorm, fused
qkv attention with biases, QuickGELU MLP; temporal attention + temporal_fc before spatial attention,
class token copied per frame and averaged), random init, channels-last input [B, T, H, W, 3] converted
to patches by reshape, ln_post + proj on the class token. Student on 2 global 224 px + 8 local 96 px
views, concept scores in random unit concept spaces (400 + 2000), a cross-entropy to fixed targets as
the loss (the objectives' cost is negligible next to the backbone), backward, per-block checkpointing
when --recompute true. Reports the time of forward + backward and the peak RSS.

With --full-step true it then also times one whole training step as the trainer runs it: the EMA
teacher's forward on the global views under no_grad, the student forward + backward, per-parameter
gradient clipping to norm 3 (DINO's clip_gradients), AdamW (torch.optim.AdamW) and the EMA update, and
prints a last line of JSON {"student_s", "step_s", "peak_rss_gib", "torch"}.
With --serve true (used by bench-step.ts --rounds) the process stays up: it prints {"ready": true}, then
runs one full step per line read from stdin and answers each with a line of JSON
{"step_s", "peak_rss_gib", "torch"}, so every round after the first is warm, as the tfjs side is.

Run with Debian's python: /usr/bin/python3 bench_step_torch.py [--depth 12] ...
"""
import argparse
import copy
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):  # x: [N, L, D]
        n, l, d = x.shape
        q, k, v = self.qkv(x).reshape(n, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # 3 x [N, h, L, d/h]
        a = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        out = a.softmax(-1) @ v  # [N, h, L, d/h]
        return self.proj(out.transpose(1, 2).reshape(n, l, d))


class DividedBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.temporal_norm1 = nn.LayerNorm(d, eps=1e-5)
        self.temporal_attn = Attention(d, heads)
        self.temporal_fc = nn.Linear(d, d)
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = Attention(d, heads)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))

    def forward(self, x, t):  # x: [B, 1 + S*T, D], patches ordered (s t) as TimeSformer
        b, n, d = x.shape
        s = (n - 1) // t
        cls, patches = x[:, :1], x[:, 1:]
        xt = patches.reshape(b * s, t, d)  # (b s) t d
        res_t = self.temporal_fc(self.temporal_attn(self.temporal_norm1(xt))).reshape(b, s * t, d)
        patches = patches + res_t
        xs = patches.reshape(b, s, t, d).permute(0, 2, 1, 3).reshape(b * t, s, d)  # (b t) s d
        cls_t = cls.repeat(1, t, 1).reshape(b * t, 1, d)
        xs = torch.cat([cls_t, xs], 1)
        res_s = self.attn(self.norm1(xs))  # [(b t), 1 + s, d]
        cls_out = res_s[:, :1].reshape(b, t, d).mean(1, keepdim=True)
        res_p = res_s[:, 1:].reshape(b, t, s, d).permute(0, 2, 1, 3).reshape(b, s * t, d)
        x = torch.cat([cls, patches], 1) + torch.cat([cls_out, res_p], 1)
        return x + self.mlp(self.norm2(x))


class VideoViT(nn.Module):
    def __init__(self, depth=12, width=768, heads=12, patch=16, image=224, frames=8, embed=512):
        super().__init__()
        self.patch = patch
        self.patch_embed = nn.Linear(patch * patch * 3, width, bias=False)
        self.cls = nn.Parameter(torch.randn(width) * width**-0.5)
        self.pos = nn.Parameter(torch.randn(1 + (image // patch) ** 2, width) * width**-0.5)
        self.time = nn.Parameter(torch.zeros(frames, width))
        self.ln_pre = nn.LayerNorm(width, eps=1e-5)
        self.blocks = nn.ModuleList([DividedBlock(width, heads) for _ in range(depth)])
        self.ln_post = nn.LayerNorm(width, eps=1e-5)
        self.proj = nn.Parameter(torch.randn(width, embed) * width**-0.5)
        self.image = image

    def forward(self, video, recompute=False):  # video: [B, T, H, W, 3]
        b, t, h, w, c = video.shape
        p = self.patch
        gh, gw = h // p, w // p
        x = video.reshape(b, t, gh, p, gw, p, c).permute(0, 2, 4, 1, 3, 5, 6).reshape(b, gh * gw * t, p * p * c)  # b (s t) (p q c)
        x = self.patch_embed(x).reshape(b, gh * gw, t, -1)
        g0 = self.image // p
        pos = self.pos[1:]
        if gh != g0:
            pos = F.interpolate(pos.reshape(1, g0, g0, -1).permute(0, 3, 1, 2), size=(gh, gw), mode='bicubic', align_corners=False)
            pos = pos.permute(0, 2, 3, 1).reshape(gh * gw, -1)
        x = x + pos[None, :, None, :] + self.time[None, None, :t, :]
        x = x.reshape(b, gh * gw * t, -1)
        x = torch.cat([(self.cls + self.pos[0]).expand(b, 1, -1), x], 1)
        x = self.ln_pre(x)
        for blk in self.blocks:
            x = checkpoint(blk, x, t, use_reentrant=False) if recompute else blk(x, t)
        return self.ln_post(x[:, 0]) @ self.proj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--depth', type=int, default=12)
    ap.add_argument('--global', dest='num_global', type=int, default=2)
    ap.add_argument('--local', dest='num_local', type=int, default=8)
    ap.add_argument('--frames', type=int, default=8)
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--recompute', default='true')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--full-step', dest='full_step', default='false')
    ap.add_argument('--serve', default='false')
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    recompute = a.recompute == 'true'
    model = VideoViT(depth=a.depth, frames=a.frames)
    cat = F.normalize(torch.randn(400, 512), dim=1)
    desc = F.normalize(torch.randn(2000, 512), dim=1)
    views = [torch.randn(a.batch, a.frames, 224, 224, 3) for _ in range(a.num_global)]
    views += [torch.randn(a.batch, a.frames, 96, 96, 3) for _ in range(a.num_local)]
    targets = (torch.softmax(torch.randn(a.batch, 400), 1), torch.softmax(torch.randn(a.batch, 2000), 1))
    params = sum(p.numel() for p in model.parameters())
    print(f'  torch {torch.__version__}, {torch.get_num_threads()} threads, depth {a.depth}, {params / 1e6:.1f} M parameters, recompute {recompute}')

    def student_loss(teacher_targets):
        loss = 0.0
        for group in (views[: a.num_global], views[a.num_global :]):  # same-size views in one call, as the trainer does
            if not group:
                continue
            f = F.normalize(model(torch.cat(group, 0), recompute=recompute), dim=1)
            for scores, target in ((f @ cat.T, teacher_targets[0]), (f @ desc.T, teacher_targets[1])):
                logp = F.log_softmax(scores / 0.01, 1)
                loss = loss + -(target.repeat(len(group), 1) * logp).sum(1).mean()
        return loss

    teacher = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.04)

    def full_step():
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        with torch.no_grad():
            f = F.normalize(teacher(torch.cat(views[: a.num_global], 0)), dim=1)
            teacher_targets = (torch.softmax(f @ cat.T / 0.04, 1)[: a.batch], torch.softmax(f @ desc.T / 0.04, 1)[: a.batch])
        student_loss(teacher_targets).backward()
        for p in model.parameters():  # DINO's clip_gradients: each tensor's norm to at most 3
            norm = p.grad.norm()
            p.grad.mul_(torch.clamp(3.0 / (norm + 1e-6), max=1.0))
        optimizer.step()
        with torch.no_grad():  # EMA teacher
            for pt, ps in zip(teacher.parameters(), model.parameters()):
                pt.mul_(0.996).add_(ps.detach(), alpha=0.004)
        return time.perf_counter() - t0

    def peak_rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    if a.serve == 'true':
        print(json.dumps({'ready': True}), flush=True)
        for _ in sys.stdin:
            seconds = full_step()
            print(json.dumps({'step_s': seconds, 'peak_rss_gib': peak_rss(), 'torch': torch.__version__}), flush=True)
        return
    t0 = time.perf_counter()
    student_loss(targets).backward()
    seconds = time.perf_counter() - t0
    print(f'  student forward + backward: {seconds:.1f} s; peak RSS {peak_rss():.2f} GiB')
    if a.full_step != 'true':
        return
    step_seconds = full_step()
    print(f'  full step (teacher forward, student forward + backward, clipping, AdamW, EMA): {step_seconds:.1f} s; peak RSS {peak_rss():.2f} GiB')
    print(json.dumps({'student_s': seconds, 'step_s': step_seconds, 'peak_rss_gib': peak_rss(), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
