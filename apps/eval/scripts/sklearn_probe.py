#!/usr/bin/env python3
"""Cross-check of lss-eval's linear probe with scikit-learn on exported features.

Usage: /usr/bin/python3 sklearn_probe.py DIR C
DIR holds train_features.npy, train_labels.npy, test_features.npy, test_labels.npy (written by
lss-eval's exportFeatures, already preprocessed exactly as lss-eval fed them to its own probe).
Fits LogisticRegression(C=C, multinomial, lbfgs, L2) and prints one JSON line with the test top-1 (%).
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: sklearn_probe.py DIR C")
    d, c = sys.argv[1], float(sys.argv[2])
    xtr = np.load(f"{d}/train_features.npy").astype(np.float64)
    ytr = np.load(f"{d}/train_labels.npy")
    xte = np.load(f"{d}/test_features.npy").astype(np.float64)
    yte = np.load(f"{d}/test_labels.npy")
    clf = LogisticRegression(C=c, penalty="l2", multi_class="multinomial", solver="lbfgs", max_iter=10000, tol=1e-10)
    clf.fit(xtr, ytr)
    pred = clf.predict(xte)
    print(json.dumps({
        "top1": float(100.0 * np.mean(pred == yte)),
        "iterations": int(np.max(clf.n_iter_)),
        "sklearn": sklearn.__version__,
        "predictions": pred.astype(int).tolist(),
        "probabilities": clf.predict_proba(xte).tolist(),
    }))


if __name__ == "__main__":
    main()
