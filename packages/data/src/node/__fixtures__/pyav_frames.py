"""PyAV reference for the frame-identity tests: decodes every frame of a video in order, as
`container.decode(stream)` gives them, and prints one JSON object {path: {"count": N, "means": [mean RGB of frame i, ...]}} for all the videos.
Usage: /usr/bin/python3 pyav_frames.py VIDEO...
"""
import json
import sys

import av



def frames(path):
    with av.open(path) as container:
        means = [float(f.to_ndarray(format="rgb24").mean()) for f in container.decode(container.streams.video[0])]
    return {"count": len(means), "means": means}


print(json.dumps({path: frames(path) for path in sys.argv[1:]}))
