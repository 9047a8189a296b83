#!/usr/bin/env python3
"""Variants of the mapper on the NIST AI RMF crosswalk, through a numpy replica of its scoring.

The replica embeds with controlmap itself (`controlmap embed`, so the vectors are the ones the
mapper sees) and scores each item as `Mapper::scores` did with the default weights at commit
58c22eb: cosine to the description and best evidence example, the linear probe,
counter-examples, keyword share (weight 0.125), the category as context (a blank item by its
category alone). It reproduces that commit's `controlmap eval` NIST row exactly (P@1 0.383, R@3
0.297, R@5 0.381, MRR 0.534), then prints the variants tried for issue 6, each against that
baseline. One of them is now in the product: `summary sentences` is close to what the mapper
does since (each control's whole summary as one more example, keywords at 0.25: MRR 0.562, R@5
0.450 in `controlmap eval`). The others are not:

- `common`: the catalog's mean and K strongest directions removed (in the product as
  `eval --weights default,common=K`), and at partial strength;
- `hub offsets`: each control's mean score over the other controls' evidence examples
  subtracted (a catalog-side correction of controls that are close to everything);
- `summary sentences`: each summary sentence as one more evidence example;
- `sentences`: items of several sentences also scored by their best sentence;
- `learn`: 5-fold learning from the other folds' items (as `eval --cv 5`, own random folds),
  with the category vectors as extra rows, blank items left out, labelled rows repeated;
- `hubs from the items`: each control's mean over its k best-scoring items subtracted (a
  transductive hub correction, CSLS-like);
- `probe ridge penalty`: the probe's lambda (the mapper's is 1);
- `query expansion`: the item and its category moved towards their best controls' descriptions;
- `outcome statements`: one templated statement per control in the NIST file's voice ("The
  organization has established <title>.") as one more evidence example;
- `co-occurring labels`: under learning, each control's score raised by how often the training
  folds label it together with the item's likely controls;
- `MaxSim`: token-level matching to the descriptions, from `nist_maxsim.py` (run it first; its
  header has the figures), blended in alone and under learning.

Measured 2026-12-02, against the baseline's MRR 0.534 and R@5 0.381: the hub correction lifts
R@5 to 0.43-0.44 and drops MRR to 0.52-0.53; the outcome statements give 0.548 / 0.434 alone and
nothing under learning (MRR 0.636-0.640 against 0.635-0.647); co-occurring labels move learning
within its spread between shuffles (0.637-0.651; with common=1, 0.636-0.669 against
0.650-0.664, R@5 at most 0.541); ridge penalties and query expansion only lose. None reaches
R@5 0.55 or is clearly above learning with common=1.

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
from nist_metrics import ranking

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
    return ranking(s, items, ids, rows)


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


def cross_validated(rows_of, w=W, v=base, after=lambda s, train: s):
    """5 folds x 3 shuffles: the probe learns `rows_of(train)`, `after` adjusts the scores."""
    out = []
    for seed in (0, 1, 2):
        order = labelled.copy()
        np.random.default_rng(seed).shuffle(order)
        s = np.zeros((len(items), N))
        for fold in np.array_split(order, 5):
            train = np.setdiff1d(order, fold)
            s[fold] = after(score(v, catalog_probe(v, rows_of(train)), w), train)[fold]
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

# Hub correction from the scored passages themselves (CSLS-like: each control's mean over its
# k best-scoring items subtracted; in the product the folder's passages would play that part).
s = score(base)
for k, g in ((10, 0.25), (10, 0.5), (20, 0.5)):
    print(f"hubs from the items: k={k}, x{g}       ", metrics(s - g * np.sort(s, axis=0)[::-1][:k].mean(0)))

# The probe's ridge penalty (the mapper's is 1).
rows = np.vstack([desc, ex])
target = np.zeros((len(rows), N))
target[np.arange(N), np.arange(N)] = 1
target[N + np.arange(len(ex_owner)), ex_owner] = 1
for lam in (0.1, 0.3, 3.0):
    print(f"probe ridge penalty {lam}              ", metrics(score(base, probe_fit(rows, target, lam))))


def unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# Query expansion: the item (and its category) moved towards the descriptions of its k best
# controls, then scored again (pseudo-relevance feedback).
first = np.argsort(-s, axis=1)
cat_first = np.argsort(-dense(cat, base, probe), axis=1)
for k, beta in ((1, 0.25), (3, 0.25), (3, 0.5)):
    v = dict(base, item=unit(item + beta * desc[first[:, :k]].mean(1)),
             cat=unit(cat + beta * desc[cat_first[:, :k]].mean(1)))
    print(f"query expansion: top {k}, x{beta}        ", metrics(score(v)))

# One templated outcome statement per control ("The organization has established <title>."),
# the NIST file's voice, as one more evidence example; alone and under 5-fold learning.
outcome = embed(["The organization has established " + c["title"][0].lower() + c["title"][1:] + "."
                 for _, c in controls])
voiced = dict(base, ex=np.vstack([ex, outcome]), owner=np.concatenate([ex_owner, np.arange(N)]))
print("outcome statements as examples       ", metrics(score(voiced)))


def cross_validated_with(v, after=lambda s, train: s):
    return cross_validated(lambda t: (v["item"][t], y[t]), v=v, after=after)


print("learn: outcome statements as examples", cross_validated_with(voiced))


# Labels that travel together: from the training folds, P(c | c') for every pair, and each
# item's score for c raised by the softmax-weighted chance of c given its likely controls.
def co_occurrence(gamma):
    def after(s, train):
        counts = y[train].sum(0) + 1e-9
        given = (y[train].T @ y[train]) / counts[:, None]
        np.fill_diagonal(given, 0)
        z = np.exp(20 * (s - s.max(1, keepdims=True)))
        return s + gamma * (z / z.sum(1, keepdims=True)) @ given
    return after


print("learn: common=1 (as --cv 5 common=1)", cross_validated_with(strip(1)))
for gamma in (0.1, 0.2):
    print(f"learn: + co-occurring labels x{gamma}   ", cross_validated_with(base, co_occurrence(gamma)))
    print(f"learn: + co-occurring, common=1 x{gamma}", cross_validated_with(strip(1), co_occurrence(gamma)))


# Token-level matching to the descriptions (MaxSim, from nist_maxsim.py when it has been run):
# z-scored and added to the mapper's z-scored scores, alone and under 5-fold learning.
maxsim_path = os.path.join(tempfile.gettempdir(), "nist_maxsim.npy")
if os.path.exists(maxsim_path):
    tokens = np.load(maxsim_path)

    def z(s):
        return (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True)

    for lam in (0.5, 1.0, 2.0):
        print(f"MaxSim to the descriptions x{lam}      ", metrics(z(score(base)) + lam * z(tokens)))
        print(f"learn: + MaxSim x{lam}                 ",
              cross_validated_with(base, lambda s, train, lam=lam: z(s) + lam * z(tokens)))
