"""Clustering quality when every page carries its outlet's furniture (read at run time, never copied).

Real pages reach the service with their site's furniture around the story: the seed pages end in a
"Related Articles" list (IBNS) or in 11k characters of other stories' teaser cards with no heading
(the portal). Outlets repeat that furniture on every page, so it must not glue their stories together.
This wraps a labelled corpus's articles in four outlets' furniture, three taken from the seed pages and
a menu and footer written here, one article in five each (the fifth stays bare), and scores both
versions with `aggregator eval`'s in-process clustering:

    python -m tests.benchmarks.bench_furniture ../shared/datasets/ecbplus.jsonl ../shared/datasets/seeds.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from aggregator.core.models import Article
from aggregator.eval.corpus import read_corpus
from aggregator.eval.runner import cluster_in_memory
from aggregator.eval.scoring import score
from aggregator.settings import get_settings

# A fourth outlet's menu and footer, written here: the seed pages came without theirs.
_MASTHEAD = (
    "Daily Example\nHome\nWorld\nPolitics\nBusiness\nMarkets\nTechnology\nScience\nHealth\nSport\n"
    "Football\nTennis\nCulture\nFilm\nMusic\nTravel\nOpinion\nVideo\nPodcasts\nWeather\nPuzzles\n"
    "Newsletters\nSubscribe"
)
_FOOTER = (
    "Advertisement\nSubscribe to our newsletter for the day's top stories in your inbox every morning.\n"
    "Copyright 2025 Daily Example Media Group Ltd. All rights reserved. Reproduction without permission "
    "is prohibited.\nTerms of Use | Privacy Policy | Cookie Settings | Contact Us | Advertise With Us"
)


def outlets(seeds: Path) -> list[Callable[[str], str]]:
    """Four outlets' page furniture: a menu and footer, and three cut out of the seed pages at their
    first line of other stories."""
    pages = {d["source"]: d["text"] for d in map(json.loads, seeds.read_text(encoding="utf-8").splitlines())}
    herald = next(t for s, t in pages.items() if "IBNS" in s)
    portal = next(t for s, t in pages.items() if "rewrite" in s)
    related = herald[herald.index("Related Articles") :]
    lines = portal.splitlines()
    first_card = next(i for i in range(len(lines) - 1) if lines[i].strip() and lines[i] == lines[i + 1])
    cards = "\n".join(lines[first_card:])
    # An extractor that drops a repeated line leaves each card as its headline and blurb.
    single = "\n".join(line for i, line in enumerate(lines[first_card:]) if line != lines[first_card + i - 1])
    return [
        lambda t: f"{_MASTHEAD}\n{t}\n{_FOOTER}",
        lambda t: f"{t}\n{related}",
        lambda t: f"Logo\n\n{t}\n\n{cards}",
        lambda t: f"{t}\n\n{single}",
    ]


def wrapped(articles: Sequence[Article], furniture: Sequence[Callable[[str], str]]) -> list[Article]:
    out = []
    for n, a in enumerate(articles):
        k = n % (len(furniture) + 1)
        out.append(replace(a, text=furniture[k](a.text)) if k < len(furniture) else a)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("seeds", type=Path, help="seeds.jsonl: the pages whose furniture is used")
    args = parser.parse_args()
    rows = read_corpus(args.corpus)
    truth = {a.id: c for a, c in rows}
    articles = [a for a, _ in rows]
    settings = get_settings()
    for name, stream in (("bare", articles), ("with furniture", wrapped(articles, outlets(args.seeds)))):
        s = score(cluster_in_memory(stream, settings).stories, truth)
        print(
            f"{name:15} B-cubed P {s.bcubed_precision:.3f} R {s.bcubed_recall:.3f} F1 {s.bcubed_f1:.3f}"
            f"  stories {s.stories}"
        )


if __name__ == "__main__":
    main()
