"""What a variant changed: its headline and first paragraph against the canonical's, word by word,
as HTML with what it added or reworded marked and what it left out struck through."""

from __future__ import annotations

from difflib import SequenceMatcher

from markupsafe import Markup, escape


def first_paragraph(text: str, title: str = "") -> str:
    """The first paragraph of an article's text that is not its headline repeated."""
    heading = " ".join(title.split()).casefold()
    for block in text.split("\n"):
        line = " ".join(block.split())
        if line and line.casefold() != heading:
            return line
    return ""


def marked(canonical: str, variant: str) -> Markup:
    """`variant` as HTML: words it has that `canonical` lacks in <mark>, words of `canonical` it lacks
    in <del>; the same text gives the text, unmarked."""
    old, new = canonical.split(), variant.split()
    parts: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(str(escape(" ".join(new[j1:j2]))))
            continue
        if i2 > i1:
            parts.append(f"<del>{escape(' '.join(old[i1:i2]))}</del>")
        if j2 > j1:
            parts.append(f"<mark>{escape(' '.join(new[j1:j2]))}</mark>")
    return Markup(" ".join(parts))


def changed_share(canonical: str, variant: str) -> float:
    """How much of the variant's words differ from the canonical's: 0 for the same, 1 for none shared."""
    return 1.0 - SequenceMatcher(a=canonical.split(), b=variant.split(), autojunk=False).ratio()
