"""Articles in other languages: detected, stripped of their own stop words, and, for scripts written
without spaces, cut into character pairs."""

from __future__ import annotations

import numpy as np

from aggregator.core import text
from aggregator.core.fingerprint import LEAD_WORDS
from aggregator.core.models import Article, Relation
from aggregator.core.terms import Vocabulary, count_terms
from aggregator.eval.runner import memory_index
from aggregator.ingest.language import declared, detect
from aggregator.settings import defaults
from aggregator.wiring import pipeline_from

FR_TITLE = "Le Canada ordonne à Hikvision de cesser ses activités"
FR_BODY = (
    "Le gouvernement canadien a ordonné au fabricant chinois de caméras de surveillance Hikvision de "
    "cesser ses activités au Canada pour des raisons de sécurité nationale, a annoncé la ministre de "
    "l'Industrie Mélanie Joly. La décision fait suite à un examen en plusieurs étapes des informations "
    "fournies par les services de renseignement. L'ambassade de Chine a dénoncé une décision injuste."
)
FR_REWRITE_TITLE = "Ottawa expulse Hikvision au nom de la sécurité nationale"
FR_REWRITE_BODY = (
    "Mélanie Joly, ministre canadienne de l'Industrie, a exigé que la filiale canadienne de Hikvision "
    "ferme ses portes. Selon Ottawa, la poursuite des activités du fabricant chinois de caméras nuirait "
    "à la sécurité nationale du Canada. Pékin, par la voix de son ambassade, proteste contre la mesure."
)
DE_TITLE = "Bahnstreik legt den Verkehr in Bayern lahm"
DE_BODY = (
    "Ein Streik der Lokführergewerkschaft hat am Montag den Regionalverkehr in Bayern weitgehend "
    "lahmgelegt. Pendler in München und Nürnberg mussten auf Busse ausweichen, teilte die Bahn mit. "
    "Die Gewerkschaft fordert mehr Lohn und kürzere Schichten für das Zugpersonal."
)


def test_the_language_is_detected_or_the_feed_s_stands() -> None:
    assert detect(FR_TITLE, FR_BODY) == "fr"
    assert detect(DE_TITLE, DE_BODY) == "de"
    assert detect("加拿大命令海康威视停止运营", "") == "zh"
    assert detect("Carl Icahn slams eBay CEO", "") == "en"  # unsure: English
    assert detect("Kanada verbietet Hikvision", "", fallback="de") == "de"  # unsure: the feed's
    assert detect("", "") == "en"
    assert (declared("en-US"), declared("fr"), declared("klingon"), declared(None)) == (
        "en",
        "fr",
        None,
        None,
    )


def test_each_language_drops_its_own_stop_words() -> None:
    docs = [
        ([], text.tokens("Die Regierung war gegen das Gesetz, sagte der Minister in Berlin")),
        ([], text.tokens("The war in the north ended, the minister said")),
    ]
    table = count_terms(docs, LEAD_WORDS, Vocabulary(), ["de", "en"])
    german, english = (table.names(np.flatnonzero(table.article == i)) for i in range(2))
    assert german == ["regierung", "gesetz", "minister", "berlin"]  # "war" is a German stop word
    assert english == ["war", "north", "ended", "minister"]


def test_scripts_without_spaces_are_cut_into_character_pairs() -> None:
    assert text.tokens("海康威视 Hikvision") == ["海康", "康威", "威视", "Hikvision"]
    assert text.tokens("中 国") == ["中", "国"]
    assert text.tokens("Mélanie Joly") == ["Mélanie", "Joly"]


def _article(aid: str, title: str, body: str, language: str) -> Article:
    return Article(id=aid, url=f"http://x/{aid}", feed_id="f", title=title, text=body, source="x",
                   published=0.0, fetched=0.0, language=language)  # fmt: skip


def test_french_articles_about_one_event_form_one_story() -> None:
    settings = defaults()
    pipeline, index = pipeline_from(settings), memory_index(settings)
    decided = {}
    for a in (
        _article("de", DE_TITLE, DE_BODY, "de"),
        _article("fr", FR_TITLE, FR_BODY, "fr"),
        _article("fr2", FR_REWRITE_TITLE, FR_REWRITE_BODY, "fr"),
    ):
        (x,) = pipeline.run([a], index).assignments
        decided[a.id] = x.decision
    assert (decided["fr2"].story_id, decided["fr2"].relation) == ("sfr", Relation.REWRITE)
    assert decided["de"].story_id == "sde" and decided["fr"].story_id == "sfr"
