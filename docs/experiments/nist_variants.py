#!/usr/bin/env python3
"""Variants of the mapper on the NIST AI RMF crosswalk, through a numpy replica of its scoring.

The replica embeds with controlmap itself (`controlmap embed`, so the vectors are the ones the
mapper sees) and scores each item as `Mapper::scores` does with the default weights: cosine to
the description and best evidence example, the linear probe, counter-examples, keyword share,
the category as context (a blank item by its category alone). It reproduces `controlmap eval`'s
NIST row exactly (P@1 0.383, R@3 0.297, R@5 0.381, MRR 0.534), then prints the variants tried
for issue 6 that are not in the product, each against that baseline:

- `common`: the catalog's mean and K strongest directions removed (in the product as
  `eval --weights default,common=K`), and at partial strength;
- `hub offsets`: each control's mean score over the other controls' evidence examples
  subtracted (a catalog-side correction of controls that are close to everything);
- `summary sentences`: each summary sentence as one more evidence example;
- `sentences`: items of several sentences also scored by their best sentence;
- `learn`: 5-fold learning from the other folds' items (as `eval --cv 5`, own random folds),
  with the category vectors as extra rows, blank items left out, labelled rows repeated.

Needs numpy and PyYAML, and a built controlmap (`cargo build`) with the default model
installed (`scripts/fetch-model`). Run from the repository root:
    python3 docs/experiments/nist_variants.py [target/debug/controlmap] [../shared/eval/nist-ai-rmf-to-iso42001.json]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import yaml

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/debug/controlmap"
NIST = sys.argv[2] if len(sys.argv) > 2 else "../shared/eval/nist-ai-rmf-to-iso42001.json"
catalog = yaml.safe_load(open("corpora/catalogs/iso42001-annex-a.yaml"))
controls = [(o, c) for o in catalog["objectives"] for c in o["controls"]]
ids = [c["id"] for _, c in controls]
N = len(ids)
items = json.load(open(NIST))["items"]
texts = [i["text"] for i in items]
blank = np.array([not t.strip() for t in texts])
tmp = tempfile.mkdtemp()


def embed(lines):
    """Vectors of `lines` from controlmap (a blank line gets a placeholder, scored apart)."""
    path = os.path.join(tmp, "in.txt")
    with open(path, "w") as f:
        f.write("\n".join(t.replace("\n", " ").strip() or "." for t in lines) + "\n")
    out = os.path.join(tmp, "out.npy")
    subprocess.run([BIN, "embed", "-q", "--input", path, "--output", out], check=True)
    return np.load(out)


desc = embed([f"{c['title']}. {c['summary'].strip()}" for _, c in controls])
examples = [e for _, c in controls for e in c["evidence_examples"]]
ex = embed(examples)
ex_owner = np.array([i for i, (_, c) in enumerate(controls) for _ in c["evidence_examples"]])
negs = [e for _, c in controls for e in c.get("counter_examples", [])]
neg = embed(negs)
neg_owner = np.array([i for i, (_, c) in enumerate(controls) for _ in c.get("counter_examples", [])])
item = embed(texts)
cat = embed([i.get("category", "") for i in items])
keywords = [[k.lower() for k in c["keywords"]] for _, c in controls]
W = dict(desc=0.625, max=0.375, neg=0.3, probe=0.75, kw=0.125, ctx=0.5)


def has_word(h, n):
    for m in re.finditer(re.escape(n), h):
        a, b = m.start(), m.end()
        if (a == 0 or not h[a - 1].isalnum()) and (b == len(h) or not h[b].isalnum()):
            return True
    return False


def kw_share(ts):
    return np.array([[min(sum(has_word(t.lower(), k) for k in ks), 3) / 3 for ks in keywords] for t in ts])


def probe_fit(x, y, lam=1.0):
    mu, share = x.mean(0), y.mean(0)
    xc = x - mu
    w = np.linalg.solve(xc.T @ xc + lam * np.eye(x.shape[1]), xc.T @ (y - share))
    return w, share - mu @ w


def catalog_probe(v, extra=None):
    x = np.vstack([v["desc"], v["ex"]])
    y = np.zeros((len(x), N))
    y[np.arange(N), np.arange(N)] = 1
    y[N + np.arange(len(v["owner"])), v["owner"]] = 1
    if extra is not None:
        x, y = np.vstack([x, extra[0]]), np.vstack([y, extra[1]])
    return probe_fit(x, y)


def dense(p, v, probe, w=W):
    s = w["desc"] * (p @ v["desc"].T)
    se = p @ v["ex"].T
    s += w["max"] * np.stack([se[:, v["owner"] == c].max(1) for c in range(N)], 1)
    s += w["probe"] * (p @ probe[0] + probe[1])
    sn = p @ v["neg"].T
    for c in set(neg_owner):
        s[:, c] -= w["neg"] * sn[:, neg_owner == c].max(1)
    return s


def score(v, probe=None, w=W):
    probe = probe or catalog_probe(v)
    own = dense(v["item"], v, probe, w) + w["kw"] * kw_share(texts)
    ctx = dense(v["cat"], v, probe, w)
    s = (own + w["ctx"] * ctx) / (1 + w["ctx"])
    s[blank] = ctx[blank]
    return s


def metrics(s, rows=None):
    rows = range(len(items)) if rows is None else rows
    p1 = r3 = r5 = mrr = n = 0
    for r in rows:
        gold = [ids.index(a) for a in items[r]["annex_a"]]
        if not gold:
            continue
        n += 1
        rank = {c: k for k, c in enumerate(np.argsort(-s[r], kind="stable"))}
        ranks = sorted(rank[g] for g in gold)
        p1 += ranks[0] == 0
        r3 += sum(k < 3 for k in ranks) / len(gold)
        r5 += sum(k < 5 for k in ranks) / len(gold)
        mrr += 1 / (ranks[0] + 1)
    return f"P@1 {p1 / n:.3f}  R@3 {r3 / n:.3f}  R@5 {r5 / n:.3f}  MRR {mrr / n:.3f}"


base = dict(desc=desc, ex=ex, owner=ex_owner, neg=neg, item=item, cat=cat)
print("baseline (the mapper's default)      ", metrics(score(base)))

# The catalog's mean and strongest directions removed, at full and partial strength.
both = np.vstack([desc, ex])
mu = both.mean(0)
pcs = np.linalg.svd(both - mu, full_matrices=False)[2]


def strip(k, alpha=1.0):
    out = dict(base)
    for key in ("desc", "ex", "neg", "item", "cat"):
        x = base[key] - mu
        for d in pcs[:k]:
            x = x - alpha * np.outer(x @ d, d)
        out[key] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


for k in (0, 1, 2, 3):
    print(f"common={k}                             ", metrics(score(strip(k))))
for alpha in (0.25, 0.5, 0.75):
    print(f"common=1 at strength {alpha}            ", metrics(score(strip(1, alpha))))

# Hub offsets from the catalog: each control's mean score over other controls' examples.
probe = catalog_probe(base)
ref = dense(ex, base, probe) + W["kw"] * kw_share(examples)
others = np.ones_like(ref, dtype=bool)
others[np.arange(len(ex_owner)), ex_owner] = False
offset = np.array([ref[others[:, c], c].mean() for c in range(N)])
for g in (0.25, 0.5, 1.0):
    print(f"hub offsets x{g}                      ", metrics(score(base) - g * offset))

# Each summary sentence as one more evidence example.
sents, owner = [], []
for i, (_, c) in enumerate(controls):
    for s in re.split(r"(?<=[.;])\s+", c["summary"].strip()):
        if len(s.split()) > 3:
            sents.append(s)
            owner.append(i)
more = dict(base, ex=np.vstack([ex, embed(sents)]), owner=np.concatenate([ex_owner, owner]))
print("summary sentences as examples        ", metrics(score(more)))

# Items of several sentences also scored by their best sentence.
parts, part_of = [], []
for r, t in enumerate(texts):
    for s in re.split(r"(?<=[.;:])\s+", t):
        if len(s.split()) >= 4:
            parts.append(s.strip())
            part_of.append(r)
part_of = np.array(part_of)
sp = dense(embed(parts), base, probe) + W["kw"] * kw_share(parts)
ctx = dense(cat, base, probe)
s = score(base)
for r in range(len(texts)):
    if (part_of == r).sum() > 1:
        s[r] = (sp[part_of == r].max(0) + W["ctx"] * ctx[r]) / (1 + W["ctx"])
print("multi-sentence items by best sentence", metrics(s))

# Learning from the other folds' items (5 folds x 3 shuffles, own random folds).
y = np.zeros((len(items), N))
for r, i in enumerate(items):
    for a in i["annex_a"]:
        y[r, ids.index(a)] = 1
labelled = np.where(y.sum(1) > 0)[0]


def cross_validated(rows_of, w=W):
    out = []
    for seed in (0, 1, 2):
        order = labelled.copy()
        np.random.default_rng(seed).shuffle(order)
        s = np.zeros((len(items), N))
        for fold in np.array_split(order, 5):
            train = np.setdiff1d(order, fold)
            s[fold] = score(base, catalog_probe(base, rows_of(train)), w)[fold]
        out.append(s)
    return " | ".join(metrics(s, labelled) for s in out)


print("learn: items (as eval --cv 5)        ", cross_validated(lambda t: (item[t], y[t])))
print("learn: items + category rows         ",
      cross_validated(lambda t: (np.vstack([item[t], cat[t]]), np.vstack([y[t], y[t]]))))
print("learn: blank items left out          ",
      cross_validated(lambda t: (item[t[~blank[t]]], y[t[~blank[t]]])))
for dup in (2, 3):
    print(f"learn: labelled rows x{dup}             ",
          cross_validated(lambda t: (np.vstack([item[t]] * dup), np.vstack([y[t]] * dup))))
