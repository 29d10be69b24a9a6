"""What a variant's headline and first paragraph change against the canonical's."""

from __future__ import annotations

from aggregator.web.differences import changed_share, first_paragraph, marked


def test_added_and_left_out_words_are_marked_and_the_rest_is_plain() -> None:
    assert marked("Bridge shut after cracks found", "Gazette: Bridge shut after cracks") == (
        "<mark>Gazette:</mark> Bridge shut after cracks <del>found</del>"
    )
    assert marked("Same words here", "Same words here") == "Same words here"
    assert changed_share("a b c", "a b c") == 0.0 and changed_share("a b", "c d") == 1.0


def test_marking_escapes_what_the_outlet_wrote() -> None:
    html = marked("Plain title", "<script>alert(1)</script> title")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_first_paragraph_is_not_the_headline_repeated() -> None:
    text = "Bridge  shut\n\nNORVALE (Wire) - The city closed it.\nMore."
    assert first_paragraph(text, "Bridge shut") == "NORVALE (Wire) - The city closed it."
    assert first_paragraph("", "x") == ""
