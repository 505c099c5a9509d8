"""Heroku: app.json (what the Deploy button and ``heroku`` create) agrees with the Procfile (what
the platform runs), and the settings it provides make a working shared-nothing deployment."""

from __future__ import annotations

import json
import re

from bulkapp.config import FILE_STORES, load_config
from tests.processes import PROJECT_ROOT

RELEASE = "release"


def procfile() -> dict[str, str]:
    """The Procfile's process types and their commands."""
    processes = {}
    for line in (PROJECT_ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            assert re.fullmatch(r"[a-z][a-z0-9_-]*", name), f"bad process type {name!r}"
            assert name not in processes, f"{name} is declared twice"
            processes[name] = command.strip()
    return processes


def app_json() -> dict:
    return json.loads((PROJECT_ROOT / "app.json").read_text())


def test_the_formation_runs_every_procfile_process_and_one_scheduler():
    processes, formation = procfile(), app_json()["formation"]
    assert set(formation) == set(processes) - {RELEASE}, (
        "every long-running Procfile process is in the formation, and nothing else"
    )
    assert all(entry["quantity"] >= 1 for entry in formation.values())
    assert formation["scheduler"]["quantity"] == 1, "exactly one cron process (README)"
    assert "$PORT" in processes["web"]


def test_migrations_run_in_the_release_phase_and_only_there():
    release = procfile()[RELEASE]
    assert re.search(r"\bflask\b.*\bdb upgrade\b", release), release
    scripts = app_json().get("scripts", {})
    assert not any("db upgrade" in command for command in scripts.values()), (
        "the Procfile's release phase migrates, on every deploy including the first"
    )


def test_the_add_ons_provide_the_database_and_redis():
    plans = {addon["plan"].split(":")[0]: addon for addon in app_json()["addons"]}
    assert set(plans) == {"heroku-postgresql", "heroku-redis"}
    assert plans["heroku-postgresql"].get("as", "DATABASE") == "DATABASE"
    assert plans["heroku-redis"].get("as", "REDIS") == "REDIS"


def test_the_environment_makes_a_production_app_that_shares_no_disk():
    env = app_json()["env"]
    assert env["SECRET_KEY"] == {**env["SECRET_KEY"], "generator": "secret"}
    values = {name: spec["value"] for name, spec in env.items() if "value" in spec}
    assert values["BULKAPP_ENV"] == "production"
    assert values["FILE_STORE"] == "database" and values["FILE_STORE"] in FILE_STORES
    # What a dyno would get: the add-ons' URLs (Heroku's spelling) and a generated secret.
    config = load_config(
        {
            **values,
            "SECRET_KEY": "generated",
            "DATABASE_URL": "postgres://user:pw@ec2.example.com:5432/d1",
            "REDIS_URL": "rediss://:pw@ec2.example.com:6380",
        }
    )
    assert config["FILE_STORE"] == "database"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert config["REDIS_URL"].endswith("?ssl_cert_reqs=none"), "Heroku Redis is self-signed"


def test_the_python_version_heroku_installs_is_the_projects():
    version = (PROJECT_ROOT / ".python-version").read_text().strip()
    assert version == "3.11"
    assert 'requires-python = ">=3.11"' in (PROJECT_ROOT / "pyproject.toml").read_text()
