"""`config/settings.example.env`, written from the settings themselves: every setting, its meaning
and its default."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic_settings import NoDecode

from aggregator.settings import PROJECT_ROOT, Settings


def example_env() -> str:
    """`config/settings.example.env`: every setting with its meaning and default. Regenerate it with
    `python -m aggregator.settings > config/settings.example.env` (a test holds the file to this)."""
    head = (
        "# Every setting, with its default. Copy to .env and point AGGREGATOR_ENV_FILE at it, or export them."
    )
    lines = [head, ""]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, Path) and default.is_relative_to(PROJECT_ROOT):
            default = default.relative_to(PROJECT_ROOT)
        if isinstance(default, list):  # comma-separated where parsed here (NoDecode), else JSON
            shown = ",".join(default) if any(m is NoDecode for m in field.metadata) else json.dumps(default)
        elif default is None or isinstance(default, bool):  # not by equality: 0 == False
            shown = {None: "", True: "true", False: "false"}[default]
        else:
            shown = default
        lines += [f"# {field.description}", f"# AGGREGATOR_{name.upper()}={shown}"]
    return "\n".join(lines) + "\n"
