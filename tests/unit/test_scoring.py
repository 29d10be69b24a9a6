"""B-cubed and pairwise scores on a hand-worked example."""

from __future__ import annotations

from aggregator.eval.scoring import score


def test_bcubed_scores() -> None:
    truth = {"a": "1", "b": "1", "c": "2"}
    perfect = score({"a": "x", "b": "x", "c": "y"}, truth)
    assert perfect.bcubed_f1 == 1.0 and perfect.stories == 2
    lumped = score({"a": "x", "b": "x", "c": "x"}, truth)
    assert lumped.bcubed_recall == 1.0
    assert abs(lumped.bcubed_precision - (2 / 3 * 2 + 1 / 3) / 3) < 1e-9
    assert lumped.pairwise_precision == 1 / 3
