"""PyAV peer of bench/decode-bench.ts: decodes the same frames of the same files and resizes them to 224x224 rgb24.

Reads a JSON job list [{"path": ..., "indices": [...], "size": 224}] from argv[1] and runs ONE pass in the mode of
argv[2]: "sequential" (one clip after another) or "threads" (a thread pool of argv[3] clips at once; PyAV releases
the GIL while decoding). Prints the pass's wall time (Python start-up and imports excluded; the clock stops when every clip's frames are in memory) and per-frame means (computed after). Decoder threading: thread_type = "AUTO" (frame + slice threads), as the FACTS.md numbers.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np


def decode_clip(job):
    wanted = sorted(set(job["indices"]))
    size = job["size"]
    out = {}
    with av.open(job["path"]) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        last = wanted[-1]
        for i, frame in enumerate(container.decode(stream)):
            if i in out or i not in wanted:
                if i >= last:
                    break
                continue
            out[i] = frame.to_ndarray(width=size, height=size, format="rgb24")
            if i >= last:
                break
    return np.stack([out[i] for i in wanted])  # [T, H, W, 3] uint8, in memory


def main():
    """argv: jobs.json mode workers; mode "sequential" or "threads". Prints {"seconds": ..., "means": ...} for one pass."""
    jobs = json.load(open(sys.argv[1]))
    mode = sys.argv[2] if len(sys.argv) > 2 else "sequential"
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    t0 = time.perf_counter()
    c0 = time.process_time()
    if mode == "sequential":
        clips = [decode_clip(job) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            clips = list(pool.map(decode_clip, jobs))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    # The cross-check with our side, computed after the clock stopped (as bench/decode-bench.ts does).
    means = [[float(f.mean()) for f in frames] for frames in clips]
    print(json.dumps({"av_version": av.__version__, "mode": mode, "workers": workers, "seconds": seconds, "cpu": cpu, "means": means}))


if __name__ == "__main__":
    main()
