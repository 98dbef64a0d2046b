"""The same training step as bench/learner/bench.ts in PyTorch on the CPU, for comparison.

A SmolLM2-135M-shaped Llama (30 layers, dim 576, 9 heads / 3 kv heads, ffn 1536, vocab 49152, tied
embeddings), random weights, cross-entropy on every token, AdamW. Prints one JSON line per config.
Usage: python bench/learner/torch_step.py --seq 128 --batch 1 --steps 1 --threads 1
"""
import argparse, json, math, time, resource
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

p = argparse.ArgumentParser()
p.add_argument("--seq", type=int, default=128)
p.add_argument("--batch", type=int, default=1)
p.add_argument("--steps", type=int, default=1)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--lora", action="store_true")
p.add_argument("--recompute", action="store_true", help="activation checkpointing per block (what the TF.js learner does from 512 tokens)")
p.add_argument("--warmup-seq", type=int, default=0, help="length of the untimed warm-up step (default --seq)")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
V, D, L, H, HK, HD, FF = 49152, 576, 30, 9, 3, 64, 1536


class Lora(nn.Module):
    def __init__(self, base: nn.Linear, r=8, alpha=16):
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(base.in_features, r) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(r, base.out_features))
        self.s = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.a @ self.b) * self.s


def rope(x, cos, sin):
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1).flatten(-2)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = nn.RMSNorm(D, eps=1e-5), nn.RMSNorm(D, eps=1e-5)
        self.q, self.k, self.v = nn.Linear(D, H * HD, bias=False), nn.Linear(D, HK * HD, bias=False), nn.Linear(D, HK * HD, bias=False)
        self.o = nn.Linear(H * HD, D, bias=False)
        self.g, self.u, self.d = nn.Linear(D, FF, bias=False), nn.Linear(D, FF, bias=False), nn.Linear(FF, D, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        h = self.n1(x)
        q = rope(self.q(h).view(B, T, H, HD), cos, sin).transpose(1, 2)
        k = rope(self.k(h).view(B, T, HK, HD), cos, sin).transpose(1, 2)
        v = self.v(h).view(B, T, HK, HD).transpose(1, 2)
        k, v = k.repeat_interleave(H // HK, 1), v.repeat_interleave(H // HK, 1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, H * HD)
        x = x + self.o(o)
        h = self.n2(x)
        return x + self.d(F.silu(self.g(h)) * self.u(h))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.norm = nn.RMSNorm(D, eps=1e-5)

    def forward(self, ids):
        T = ids.shape[1]
        ang = torch.arange(T)[:, None] * (100000.0 ** (-torch.arange(0, HD, 2) / HD))[None]
        cos, sin = ang.cos()[None, :, None], ang.sin()[None, :, None]
        x = self.emb(ids)
        for b in self.blocks:
            x = torch.utils.checkpoint.checkpoint(b, x, cos, sin, use_reentrant=False) if a.recompute else b(x, cos, sin)
        return self.norm(x) @ self.emb.weight.T


m = Model()
if a.lora:
    for p_ in m.parameters():
        p_.requires_grad_(False)
    for b in m.blocks:
        for n in ["q", "k", "v", "o", "g", "u", "d"]:
            setattr(b, n, Lora(getattr(b, n)))
params = [p_ for p_ in m.parameters() if p_.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
times = []
for s in range(a.steps + 1):
    n = (a.warmup_seq or a.seq) if s == 0 else a.seq
    ids = torch.randint(0, V, (a.batch, n))
    tgt = torch.randint(0, V, (a.batch, n))
    t0 = time.perf_counter()
    loss = F.cross_entropy(m(ids).view(-1, V), tgt.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    if s > 0:
        times.append(time.perf_counter() - t0)
step = sum(times) / len(times)
print(json.dumps({"config": "LoRA r=8 (all linear)" if a.lora else "full", "recompute": a.recompute, "threads": a.threads, "tokensPerSec": a.batch * a.seq / step,
                  "stepSeconds": step, "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__}))
