#!/usr/bin/env python3
"""Token-level matching (late interaction, "MaxSim") against sentence cosine on the NIST file.

The mapper compares one mean-pooled vector per passage with one per description. MaxSim keeps
MiniLM's token states instead: for each token of the item, the best cosine to any token of the
control's description ("title. summary"), averaged over the item's tokens ([CLS] and [SEP] left
out). No training; the same pinned model. The category counts as context as in the mapper
(item + 0.5 x category, a blank item by its category alone).

Needs the token states from `docs/experiments/token_states.rs` (its header says how to build
it), numpy and PyYAML. Run from the repository root:
    python3 docs/experiments/nist_maxsim.py [target/debug/examples/token_states] [NIST json]

Measured 2026-12-02 (the category as context in every row):
    description, sentence cosine                      P@1 0.367  R@3 0.299  R@5 0.386  MRR 0.538
    description, MaxSim                               P@1 0.383  R@3 0.320  R@5 0.385  MRR 0.546
    description and best example, sentence cosine     P@1 0.267  R@3 0.222  R@5 0.310  MRR 0.435
    the same, plus MaxSim to the description (z, x1)  P@1 0.350  R@3 0.306  R@5 0.379  MRR 0.516
MaxSim reads the descriptions about as well as their mean vectors do (+0.008 MRR, within one
item). Blended the same way with the whole mapper (`nist_variants.py`, run after this script:
its replica of the mapper at 58c22eb, NIST MRR 0.534), it gave 0.553-0.572 for weights 0.5-2,
and under 5-fold learning from labels nothing (0.612-0.648 against 0.635-0.647). Not built: a
gain of that size does not pay for every passage's token states at mapping time (or a MaxSim
row per passage computed while embedding, to be redone whenever the catalog changes).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import yaml
from nist_metrics import ranking

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/debug/examples/token_states"
NIST = sys.argv[2] if len(sys.argv) > 2 else "../shared/eval/nist-ai-rmf-to-iso42001.json"
catalog = yaml.safe_load(open("corpora/catalogs/iso42001-annex-a.yaml"))
controls = [c for o in catalog["objectives"] for c in o["controls"]]
ids = [c["id"] for c in controls]
N = len(ids)
items = json.load(open(NIST))["items"]
blank = np.array([not i["text"].strip() for i in items])
tmp = tempfile.mkdtemp()


def token_states(lines):
    """Each line's token states (rows normalised), [CLS] and [SEP] dropped."""
    src, out = os.path.join(tmp, "in.txt"), os.path.join(tmp, "out.bin")
    with open(src, "w") as f:
        f.write("\n".join(t.replace("\n", " ").strip() or "." for t in lines) + "\n")
    subprocess.run([BIN, src, out], check=True)
    lengths = [int(x) for x in open(out + ".lens").read().split()]
    rows = np.fromfile(out, dtype="<f4").reshape(-1, 384)
    states, at = [], 0
    for n in lengths:
        t = rows[at:at + n]
        at += n
        states.append(t)
    return states


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def pooled(states):
    return unit(np.stack([s.mean(0) for s in states]))


def maxsim(queries, docs):
    words = [unit(d[1:-1]) for d in docs]
    return np.array([[(unit(q[1:-1]) @ w.T).max(1).mean() for w in words] for q in queries])


def with_context(own, ctx):
    s = (own + 0.5 * ctx) / 1.5
    s[blank] = ctx[blank]
    return s


def metrics(s):
    return ranking(s, items, ids)


desc = token_states([f"{c['title']}. {c['summary'].strip()}" for c in controls])
examples = token_states([e for c in controls for e in c["evidence_examples"]])
owner = np.array([k for k, c in enumerate(controls) for _ in c["evidence_examples"]])
item = token_states([i["text"] for i in items])
cat = token_states([i.get("category", "") for i in items])

d, e, q, k = pooled(desc), pooled(examples), pooled(item), pooled(cat)
cosine = with_context(q @ d.T, k @ d.T)
print("description, sentence cosine                     ", metrics(cosine))
tokens = with_context(maxsim(item, desc), maxsim(cat, desc))
print("description, MaxSim                              ", metrics(tokens))


def core(v):
    best = np.stack([(v @ e.T)[:, owner == c].max(1) for c in range(N)], 1)
    return 0.625 * (v @ d.T) + 0.375 * best


both = with_context(core(q), core(k))
print("description and best example, sentence cosine    ", metrics(both))


def z(s):
    return (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True)


print("the same, plus MaxSim to the description (z, x1) ", metrics(z(both) + z(tokens)))
# For nist_variants.py, which blends it with its replica of the whole mapper.
np.save(os.path.join(tempfile.gettempdir(), "nist_maxsim.npy"), tokens)
