"""PyAV peer of bench/decode-bench.ts: decodes the same frames of the same files and resizes them to 224x224 rgb24.

Reads a JSON job list [{"path": ..., "indices": [...], "size": 224}] from argv[1]; prints one JSON object with the
wall time of each pass and per-frame mean pixel values (for the cross-check against ffmpeg's frames).
Modes: "sequential" (one clip after another) and "threads" (a thread pool of `workers` clips at once; PyAV releases
the GIL while decoding). Decoder threading: thread_type = "AUTO" (frame + slice threads), as the FACTS.md numbers.
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
    frames = np.stack([out[i] for i in wanted])  # [T, H, W, 3] uint8
    return [float(f.mean()) for f in frames]


def main():
    jobs = json.load(open(sys.argv[1]))
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    result = {"av_version": av.__version__}
    t0 = time.perf_counter()
    means = [decode_clip(job) for job in jobs]
    result["sequential_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(decode_clip, jobs))
    result["threads_s"] = time.perf_counter() - t0
    result["workers"] = workers
    result["means"] = means
    print(json.dumps(result))


if __name__ == "__main__":
    main()
