"""No Docker engine runs here: read docker-compose.yml and check it names real commands and settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from aggregator.cli import COMMANDS, build_parser
from aggregator.dispatch import QUEUES
from aggregator.settings import Settings, example_env

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_app_service_runs_a_real_cli_command() -> None:
    services = _compose()["services"]
    assert {"redis", "api", "feeds", "webhooks", "pages", "clustering", "beat"} <= set(services)
    parser = build_parser()
    for name in ("api", "feeds", "webhooks", "pages", "clustering", "beat"):
        cmd = services[name]["command"]
        assert cmd[0] == "aggregator", name
        args = parser.parse_args(cmd[1:])  # exits (fails the test) on an unknown command or flag
        assert args.command in COMMANDS
    served = set()
    for name in ("feeds", "webhooks", "pages", "clustering"):
        served |= set(parser.parse_args(services[name]["command"][1:]).queues.split(","))
    assert served == set(QUEUES)  # every queue has a worker


def test_every_env_name_is_a_setting() -> None:
    fields = {f"AGGREGATOR_{name.upper()}" for name in Settings.model_fields}
    used: set[str] = set()
    for svc in _compose()["services"].values():
        used |= {k for k in (svc.get("environment") or {}) if k.startswith("AGGREGATOR_")}
    dockerfile = (ROOT / "Dockerfile").read_text()
    used |= {tok.split("=")[0] for tok in dockerfile.split() if tok.startswith("AGGREGATOR_")}
    assert used, "the compose file configures the app through settings"
    assert used <= fields, used - fields


def test_redis_keeps_an_append_only_file_and_has_a_healthcheck() -> None:
    redis = _compose()["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert "healthcheck" in redis


def test_example_env_documents_every_setting() -> None:
    text = (ROOT / "config" / "settings.example.env").read_text()
    missing = [n for n in Settings.model_fields if f"AGGREGATOR_{n.upper()}=" not in text]
    assert missing == []
    assert all(f.description for f in Settings.model_fields.values())
    # The file is generated: `python -m aggregator.settings > config/settings.example.env`.
    assert text == example_env()


def test_redis_needs_a_password_and_is_not_published() -> None:
    services = _compose()["services"]
    redis = services["redis"]
    assert "ports" not in redis
    password = redis["command"][redis["command"].index("--requirepass") + 1]
    assert password.startswith("${REDIS_PASSWORD")
    for name in ("api", "feeds", "webhooks", "pages", "clustering", "beat"):
        url = services[name]["environment"]["AGGREGATOR_REDIS_URL"]
        assert url.startswith(f"redis://:{password}@redis:"), name
