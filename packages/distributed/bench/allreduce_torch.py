# One rank of the reference: torch.distributed.all_reduce (Gloo) of the same gradient list, bucketed the
# way DDP does (25 MiB flat buckets), timed like bench/allreduce-worker.ts. Start with RANK/WORLD_SIZE/
# MASTER_ADDR/MASTER_PORT set.
import json, os, time
import torch
import torch.distributed as dist

floats = int(os.environ.get("LSS_BENCH_FLOATS", 86_000_000))
repeats = int(os.environ.get("LSS_BENCH_REPEATS", 3))
dist.init_process_group("gloo")
rank = dist.get_rank()
sizes, left = [], floats
while left > 0:
    n = min(left, 2_359_296 if len(sizes) % 4 == 0 else 768)
    sizes.append(n)
    left -= n
grads = [torch.full((n,), float(rank + 1)) for n in sizes]
bucket_elems = 25 * 1024 * 1024 // 4
dist.barrier()
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    i = 0
    while i < len(grads):
        j, total = i, 0
        while j < len(grads) and (j == i or total + grads[j].numel() <= bucket_elems):
            total += grads[j].numel()
            j += 1
        flat = torch.cat(grads[i:j]) if j - i > 1 else grads[i]
        dist.all_reduce(flat)
        flat.div_(dist.get_world_size())
        if j - i > 1:
            for g, v in zip(grads[i:j], flat.split([g.numel() for g in grads[i:j]])):
                g.copy_(v)
        i = j
    times.append(time.perf_counter() - t0)
if rank == 0:
    print("RESULT " + json.dumps({"engine": "pytorch", "floats": floats, "tensors": len(sizes), "times": times}))
dist.destroy_process_group()
