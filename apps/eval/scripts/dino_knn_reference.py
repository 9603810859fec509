"""Reference values for the weighted k-NN test (apps/eval/src/knn.test.ts).

Transcribes, in NumPy, the scoring of DINO's `knn_classifier` (facebookresearch/dino, eval_knn.py):
top-k cosine neighbours, one vote per neighbour of weight exp(sim / T) for its class, classes sorted by
summed votes (descending; ties by lower class index, as PyTorch's stable CPU sort), top-1 = first class,
top-5 = the first min(5, k) classes ("top5 does not make sense if k < 5" in DINO's code).

Run: python3 apps/eval/scripts/dino_knn_reference.py > apps/eval/src/fixtures/dino-knn.json
"""
import json

import numpy as np

rng = np.random.default_rng(16)
num_classes, dim, train_per, test_per = 4, 8, 6, 10
means = rng.normal(size=(num_classes, dim))
means /= np.linalg.norm(means, axis=1, keepdims=True)


def draw(per):
    labels = np.repeat(np.arange(num_classes), per)
    feats = means[labels] * 1.0 + rng.normal(scale=0.45, size=(len(labels), dim))
    return feats.astype(np.float32), labels


train, train_labels = draw(train_per)
test, test_labels = draw(test_per)


def knn_classifier(train_f, train_l, test_f, test_l, k, T, num_classes):
    tr = train_f / np.linalg.norm(train_f, axis=1, keepdims=True)
    te = test_f / np.linalg.norm(test_f, axis=1, keepdims=True)
    sim = te @ tr.T
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    dist = np.take_along_axis(sim, idx, axis=1)
    neighbours = train_l[idx]
    one_hot = np.zeros((len(test_l), k, num_classes))
    np.put_along_axis(one_hot, neighbours[:, :, None], 1.0, axis=2)
    probs = (one_hot * np.exp(dist / T)[:, :, None]).sum(axis=1)
    predictions = np.argsort(-probs, axis=1, kind="stable")
    correct = predictions == test_l[:, None]
    top1 = correct[:, :1].sum() * 100.0 / len(test_l)
    top5 = correct[:, : min(5, k)].sum() * 100.0 / len(test_l)
    return float(top1), float(top5)


results = []
for k in [1, 2, 3, 5, 10, 24]:
    top1, top5 = knn_classifier(train, train_labels, test, test_labels, k, 0.07, num_classes)
    results.append({"k": k, "top1": top1, "top5": top5})

print(json.dumps({
    "source": "apps/eval/scripts/dino_knn_reference.py (NumPy transcription of DINO eval_knn.py knn_classifier)",
    "temperature": 0.07,
    "numClasses": num_classes,
    "dim": dim,
    "train": {"features": [float(v) for v in train.ravel()], "labels": train_labels.tolist()},
    "test": {"features": [float(v) for v in test.ravel()], "labels": test_labels.tolist()},
    "results": results,
}))
