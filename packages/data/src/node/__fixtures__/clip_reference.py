"""Reference of CLIP's pixels for the pixel tests: PyAV decodes the frames (decode order, as `container.decode()`),
then CLIP's `_transform` as torchvision 0.14 runs it on PIL images: `Resize(short)` with PIL BICUBIC, the size from
torchvision's `_compute_resized_output_size` (long side = int(short * long / short_side)), `CenterCrop(size)` with
offsets `int(round((side - size) / 2.0))`, `ToTensor` (/255), `Normalize(mean, std)`.

Usage: /usr/bin/python3 clip_reference.py VIDEO SIZE CROP_FRACTION clip|imagenet OUT.f32 INDEX...
Writes float32 [T, SIZE, SIZE, 3] (channels-last, as LSS.js) to OUT.f32.
"""
import math
import sys

import av
import numpy as np
from PIL import Image

MEANS = {
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def clip_transform(img, size, crop_fraction, norm):
    short = int(math.floor(size / crop_fraction + 1e-9))
    w, h = img.size
    if w <= h:
        new_w, new_h = short, int(short * h / w)
    else:
        new_w, new_h = int(short * w / h), short
    img = img.resize((new_w, new_h), Image.BICUBIC)
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    img = img.crop((left, top, left + size, top + size))
    x = np.asarray(img, dtype=np.float32) / 255.0
    mean, std = MEANS[norm]
    return (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)


def main():
    path, size, crop_fraction, norm, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
    wanted = [int(i) for i in sys.argv[6:]]
    frames = {}
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(container.streams.video[0])):
            if i in wanted:
                frames[i] = frame.to_image()
            if i >= max(wanted):
                break
    views = np.stack([clip_transform(frames[i].convert("RGB"), size, crop_fraction, norm) for i in wanted])
    views.astype(np.float32).tofile(out)


if __name__ == "__main__":
    main()
