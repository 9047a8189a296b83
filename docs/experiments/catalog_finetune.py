#!/usr/bin/env python3
"""Does adapting MiniLM to the catalog help? Fine-tune on the catalog's own text, no labels.

The mapper's linear probe learns which directions of MiniLM's space tell the controls apart,
from the catalog's descriptions and evidence examples. Fine-tuning goes further: it moves the
model itself so that each evidence example lands near its own control's description
(in-batch contrastive loss against all 38 descriptions, scale 20, AdamW lr 2e-5, batch 16,
4 epochs, seed fixed; chosen once, not tuned). Nothing from either evaluation set is used
for training. `controlmap tune` is this recipe built into the product (in candle); this
script remains the reference it was checked against. It scores the two plain similarity
signals (0.625 x cosine to the description + 0.375 x best cosine to an evidence example)
before and after each epoch, on the NIST crosswalk and on the sample organisation's gold
passages.

Set-up (the same venv as nist_ceiling.py):
    python3 -m venv /tmp/st && /tmp/st/bin/pip install -q torch sentence-transformers pyyaml
Run from the repository root, after `controlmap run corpora/sample-org --workspace W`:
    /tmp/st/bin/python docs/experiments/catalog_finetune.py MODEL_DIR W [SEED]
About 6 minutes on 2 CPU cores.
"""
import json
import random
import re
import sys

import numpy as np
import torch
import yaml
from sentence_transformers import SentenceTransformer

model_dir, workspace = sys.argv[1], sys.argv[2]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
torch.manual_seed(seed)
random.seed(seed)
catalog = yaml.safe_load(open("corpora/catalogs/iso42001-annex-a.yaml"))
controls = [c for o in catalog["objectives"] for c in o["controls"]]
ids = [c["id"] for c in controls]
C = len(ids)
desc = [f"{c['title']}. {c['summary'].strip()}" for c in controls]
examples = [(e, i) for i, c in enumerate(controls) for e in c.get("evidence_examples", [])]

nist = json.load(open("../shared/eval/nist-ai-rmf-to-iso42001.json"))["items"]
nist_gold = [[ids.index(a) for a in i["annex_a"]] for i in nist]
# The sample's passages, labelled as `controlmap eval` does: a passage holds the quote, or lies
# inside it.
docs = json.load(open(f"{workspace}/documents.json"))["documents"]
passages = [p for d in docs.values() for p in d["passages"]]
gold = yaml.safe_load(open("corpora/sample-org/gold.yaml"))
squash = lambda s: re.sub(r"\s", "", s)
sample_gold = [set() for _ in passages]
for label in gold["labels"]:
    q = squash(label["quote"])
    for k, p in enumerate(passages):
        s = squash(p["text"])
        if p["document"] == label["file"] and (q in s or (len(s) >= 40 and s in q)):
            sample_gold[k].update(ids.index(c) for c in label["controls"])


def passage_text(p):
    h = p["headings"][-1] if p["headings"] else None
    return f"{h}: {p['text']}" if h and not p["text"].startswith(h) else p["text"]


def metrics(scores, gold):
    n = p1 = r5 = mrr = 0
    for row, g in zip(scores, gold):
        if not g:
            continue
        n += 1
        order = list(np.argsort(-row, kind="stable"))
        p1 += order[0] in g
        r5 += len(set(order[:5]) & set(g)) / len(g)
        mrr += 1 / (next(k for k, c in enumerate(order) if c in g) + 1)
    return f"P@1 {p1 / n:.3f} R@5 {r5 / n:.3f} MRR {mrr / n:.3f}"


m = SentenceTransformer(model_dir, device="cpu")


def evaluate(label):
    enc = lambda xs: m.encode(xs, batch_size=32, normalize_embeddings=True)
    d, e = enc(desc), enc([t for t, _ in examples])
    owner = np.array([o for _, o in examples])

    def score(q):
        s = q @ e.T
        best = np.stack([s[:, owner == c].max(1) for c in range(C)], 1)
        return 0.625 * (q @ d.T) + 0.375 * best

    n = score(enc([i["text"] for i in nist]))
    s = score(enc([passage_text(p) for p in passages]))
    print(f"{label}: NIST {metrics(n, nist_gold)} | sample {metrics(s, sample_gold)}", flush=True)


evaluate("before")
opt = torch.optim.AdamW(m.parameters(), lr=2e-5)


def embed(texts):
    return torch.nn.functional.normalize(m(m.tokenize(texts))["sentence_embedding"], dim=-1)


for epoch in range(4):
    m.train()
    random.shuffle(examples)
    for b in range(0, len(examples), 16):
        batch = examples[b : b + 16]
        logits = 20 * embed([t for t, _ in batch]) @ embed(desc).T
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([o for _, o in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        evaluate(f"epoch {epoch + 1}")
