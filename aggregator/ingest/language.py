"""Which language an article is written in (ISO 639-1), from its text, with a model that ships inside
the package (py3langid): nothing is downloaded at run time.

The detector chooses among the languages news is most often written in, and is trusted only when it is
confident: short headlines fool it (a third of English headlines come out as something else with every
language allowed). Otherwise the feed's declared language stands, else English.
"""

from __future__ import annotations

import functools
import threading

from py3langid.langid import MODEL_FILE, LanguageIdentifier

LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "sk", "sl", "hr", "hu",
    "ro", "bg", "el", "ru", "uk", "lt", "lv", "et", "tr", "ar", "he", "fa", "ur", "hi", "bn", "ta", "zh",
    "ja", "ko", "th", "vi", "id", "ms", "ca",
)  # fmt: skip
MIN_CONFIDENCE = 0.5
SAMPLE_CHARS = 300  # the headline and the text's start say enough: the cost grows with the sample


@functools.cache
def _load() -> LanguageIdentifier:
    found = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    found.set_languages(list(LANGUAGES))
    return found


_loading = threading.Lock()


def _identifier() -> LanguageIdentifier:
    # Loading the model takes a while: threads arriving meanwhile wait for the one load, rather than
    # each decompressing a model of their own (dozens at once stalled a page worker for minutes).
    with _loading:
        return _load()


def declared(value: str | None) -> str | None:
    """A feed's `<language>` ("en-us", "fr") as ISO 639-1, or None."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def detect(title: str, text: str, fallback: str | None = None) -> str:
    """The language of an article: the detector's answer when confident, else `fallback` (the feed's
    declared language), else English."""
    sample = f"{title}\n{text[:SAMPLE_CHARS]}"
    if sample.strip():
        language, confidence = _identifier().classify(sample)
        if confidence >= MIN_CONFIDENCE:
            return str(language)
    return fallback or "en"
