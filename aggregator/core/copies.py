"""Copy groups: an article with every copy of it, copies of copies too, as the clustering linked them.

A group is one voice however many outlets republished it: the split check treats it as one member, and
only its source may be a story's canonical.
"""

from __future__ import annotations

from collections.abc import Mapping


def copy_groups(copy_of: Mapping[str, str | None]) -> dict[str, str]:
    """Article id -> its group's id, from each article's original (`copy_of`; None for none). A link to
    an article not among them is ignored: that copy starts a group of its own."""
    root = {a: a for a in copy_of}

    def find(a: str) -> str:
        while root[a] != a:
            root[a] = a = root[root[a]]  # path halving
        return a

    for a, original in copy_of.items():
        if original is not None and original in root:
            root[find(a)] = find(original)
    return {a: find(a) for a in copy_of}
