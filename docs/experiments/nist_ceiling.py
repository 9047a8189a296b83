#!/usr/bin/env python3
"""How far can MiniLM signals go on the NIST AI RMF crosswalk? A supervised upper bound.

controlmap's mapper is not trained on the NIST file. This script asks what it could reach if
it were: a logistic regression over every signal the mapper has (cosine of the item and of
its category to each control's title, description and summary, best and mean cosine to its
evidence examples, keyword share), plus two things only labelled NIST data can give: a prior
per control (how often the crosswalk uses it) and the labels of the nearest NIST items. All
fitted on four fifths of the items and scored on the fifth left out (5-fold, several seeds),
so the figures are what such a mapper would get on NIST items it has not seen.

Set-up (the same venv as ../shared/bench/st_reference.py, plus scikit-learn and PyYAML):
    python3 -m venv /tmp/st && /tmp/st/bin/pip install -q torch sentence-transformers scikit-learn pyyaml
Run from the repository root:
    /tmp/st/bin/python docs/experiments/nist_ceiling.py MODEL_DIR [../shared/eval/nist-ai-rmf-to-iso42001.json]
"""
import json
import re
import sys

import numpy as np
import yaml
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

model_dir = sys.argv[1]
nist_path = sys.argv[2] if len(sys.argv) > 2 else "../shared/eval/nist-ai-rmf-to-iso42001.json"
catalog = yaml.safe_load(open("corpora/catalogs/iso42001-annex-a.yaml"))
controls = [c for o in catalog["objectives"] for c in o["controls"]]
ids = [c["id"] for c in controls]
C = len(ids)
items = [i for i in json.load(open(nist_path))["items"] if i["annex_a"]]
Y = np.zeros((len(items), C))
for r, i in enumerate(items):
    for a in i["annex_a"]:
        Y[r, ids.index(a)] = 1

m = SentenceTransformer(model_dir, device="cpu")
enc = lambda xs: m.encode(xs, batch_size=32, normalize_embeddings=True)
title = enc([c["title"] for c in controls])
desc = enc([f"{c['title']}. {c['summary'].strip()}" for c in controls])
summ = enc([c["summary"].strip() for c in controls])
examples = enc([e for c in controls for e in c["evidence_examples"]])
owner = np.array([k for k, c in enumerate(controls) for _ in c["evidence_examples"]])
text = enc([i["text"] for i in items])
cat = enc([i.get("category") or i["text"] for i in items])


def signals(q):
    s = q @ examples.T
    best = np.stack([s[:, owner == c].max(1) for c in range(C)], 1)
    mean = np.stack([s[:, owner == c].mean(1) for c in range(C)], 1)
    return [q @ title.T, q @ desc.T, q @ summ.T, best, mean]


def keywords(t):
    t = t.lower()
    return [min(3, sum(bool(re.search(r"(?<!\w)" + re.escape(k.lower()) + r"(?!\w)", t)) for k in c["keywords"])) / 3 for c in controls]


F = np.stack(signals(text) + signals(cat) + [np.array([keywords(i["text"]) for i in items])], -1)


def metrics(S):
    p1 = r5 = mrr = 0.0
    for row, y in zip(S, Y):
        order = np.argsort(-row, kind="stable")
        gold = set(np.where(y)[0])
        p1 += order[0] in gold
        r5 += len(gold & set(order[:5])) / len(gold)
        mrr += 1 / (1 + min(k for k, c in enumerate(order) if c in gold))
    n = len(S)
    return p1 / n, r5 / n, mrr / n


def cross_validated(prior, knn, seed, k=5):
    S = np.zeros(Y.shape)
    for train, test in KFold(5, shuffle=True, random_state=seed).split(items):
        log_prior = np.log((Y[train].sum(0) + 1) / (len(train) + C))

        def features(rows):
            extra = []
            if prior:
                extra.append(np.tile(log_prior, (len(rows), 1))[..., None])
            if knn:
                sim = (text[rows] @ text[train].T + cat[rows] @ cat[train].T) / 2
                sim[rows[:, None] == train[None, :]] = -9  # an item is not its own neighbour
                top = np.argsort(-sim, 1)[:, :k]
                w = np.maximum(np.take_along_axis(sim, top, 1), 0)
                vote = (w[..., None] * Y[train][top]).sum(1) / (w.sum(1, keepdims=True) + 1e-9)
                extra.append(vote[..., None])
            return np.concatenate([F[rows]] + extra, -1)

        x = features(train)
        lr = LogisticRegression(C=1.0, max_iter=5000).fit(x.reshape(-1, x.shape[-1]), Y[train].reshape(-1))
        x = features(test)
        S[test] = lr.decision_function(x.reshape(-1, x.shape[-1])).reshape(len(test), C)
    return metrics(S)


print(f"{len(items)} items; R@5 ceiling (items with more than five controls): {np.mean([min(5, y.sum()) / y.sum() for y in Y]):.3f}")
print(f"{'':56s} {'P@1':>6s} {'R@5':>6s} {'MRR':>6s}")
print(f"{'title cosine only (no fitting)':56s} {metrics(F[..., 0])[0]:6.3f} {metrics(F[..., 0])[1]:6.3f} {metrics(F[..., 0])[2]:6.3f}")
for prior, knn, name in [(False, False, "signals"), (True, False, "signals + control prior"),
                         (False, True, "signals + nearest NIST items"), (True, True, "signals + prior + nearest items")]:
    runs = np.array([cross_validated(prior, knn, seed) for seed in range(5)])
    lo, hi = runs[:, 2].min(), runs[:, 2].max()
    p1, r5, mrr = runs.mean(0)
    print(f"{'fitted, 5-fold x 5 seeds: ' + name:56s} {p1:6.3f} {r5:6.3f} {mrr:6.3f}  (MRR {lo:.3f}-{hi:.3f})")
