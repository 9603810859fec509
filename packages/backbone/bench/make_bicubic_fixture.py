"""Writes src/__fixtures__/bicubic.json: PyTorch's bicubic resampling matrices (align_corners=False) for
a few grid sizes, to check src/interpolate.ts. Run: /usr/bin/python3 bench/make_bicubic_fixture.py"""
import json
import torch
import torch.nn.functional as F

cases = []
for (ih, iw, oh, ow) in [(3, 3, 5, 4), (14, 14, 6, 6), (7, 7, 14, 14), (2, 2, 3, 3)]:
    basis = torch.eye(ih * iw, dtype=torch.float64).reshape(ih * iw, 1, ih, iw)
    out = F.interpolate(basis, size=(oh, ow), mode="bicubic", align_corners=False)  # [in, 1, oh, ow]
    matrix = out.reshape(ih * iw, oh * ow).t().contiguous()  # [out, in]
    cases.append({"in": [ih, iw], "out": [oh, ow], "matrix": [round(v, 10) for v in matrix.flatten().tolist()]})
nearest = []
for (i, o) in [(8, 4), (8, 3), (8, 16), (4, 8)]:
    basis = torch.eye(i, dtype=torch.float64).reshape(i, 1, i)
    out = F.interpolate(basis, size=o, mode="nearest").reshape(i, o).t()
    nearest.append({"in": i, "out": o, "matrix": out.flatten().tolist()})
with open("src/__fixtures__/bicubic.json", "w") as f:
    json.dump({"torch": torch.__version__, "bicubic": cases, "nearest": nearest}, f)
