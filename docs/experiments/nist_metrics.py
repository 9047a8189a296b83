"""The ranking figures `controlmap eval` prints (P@1, R@3, R@5, MRR), for the numpy replicas of
the NIST experiments: `s[r]` is item r's score for every control, `items` the NIST file's items
(those without controls are left out), `ids` the control IDs in the columns' order."""
import numpy as np


def ranking(s, items, ids, rows=None):
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
