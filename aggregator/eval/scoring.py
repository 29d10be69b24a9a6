"""Clustering quality: B-cubed (Bagga & Baldwin 1998) and pairwise precision/recall over articles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    pairwise_precision: float
    pairwise_recall: float
    stories: int
    articles: int


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(predicted: Mapping[str, str], truth: Mapping[str, str]) -> Scores:
    """`predicted` and `truth` map article id -> cluster id, over the same articles."""
    ids = list(truth)
    if not ids:
        return Scores(0.0, 0.0, 0.0, 0.0, 0.0, 0, 0)
    pred_sizes = Counter(predicted[i] for i in ids)
    true_sizes = Counter(truth[i] for i in ids)
    both = Counter((predicted[i], truth[i]) for i in ids)
    # B-cubed: for each article, the share of its predicted cluster that truly belongs with it, and back.
    precision = sum(both[(predicted[i], truth[i])] / pred_sizes[predicted[i]] for i in ids) / len(ids)
    recall = sum(both[(predicted[i], truth[i])] / true_sizes[truth[i]] for i in ids) / len(ids)

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    together = sum(pairs(n) for n in both.values())
    pred_pairs = sum(pairs(n) for n in pred_sizes.values())
    true_pairs = sum(pairs(n) for n in true_sizes.values())
    return Scores(
        bcubed_precision=precision,
        bcubed_recall=recall,
        bcubed_f1=_f1(precision, recall),
        pairwise_precision=together / pred_pairs if pred_pairs else 1.0,
        pairwise_recall=together / true_pairs if true_pairs else 1.0,
        stories=len(pred_sizes),
        articles=len(ids),
    )
