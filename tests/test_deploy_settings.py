"""Production settings: secrets from files (NAME_FILE), JSON log lines, `check --deploy` clean."""

import json
import secrets

import pytest

from workflows.references import MissingSecret, Secret

from .test_settings import PRODUCTION, manage

PRINT = "from django.conf import settings as s; print(repr({}))"


@pytest.fixture
def secret_files(tmp_path):
    def write(name: str, value: str):
        path = tmp_path / name
        path.write_text(value)
        return str(path)

    return write


def test_every_secret_setting_may_come_from_a_file(secret_files):
    env = {
        **PRODUCTION,
        "SECRET_KEY": "",
        "SECRET_KEY_FILE": secret_files("secret_key", "k" * 60 + "\n"),  # as `echo` leaves it
        "DATABASE_URL": "postgres://baton@ignored/ignored",
        "DATABASE_URL_FILE": secret_files("database_url", "postgres://baton:pw@db:5432/baton\n"),
        "BROKER_URL_FILE": secret_files("broker_url", "redis://:pw@redis:6379/2"),
        "GOOGLE_CLIENT_ID": "baton.apps.googleusercontent.com",
        "GOOGLE_CLIENT_SECRET_FILE": secret_files("google", "g-secret\n"),
    }
    code = PRINT.format(
        "[len(s.SECRET_KEY), s.DATABASES['default']['PASSWORD'], s.DATABASES['default']['HOST'],"
        " s.BROKER_URL, s.SOCIALACCOUNT_PROVIDERS['google']['APPS'][0]['secret']]"
    )

    result = manage("shell", "--no-imports", "-c", code, env=env)

    assert result.stdout.strip() == "[60, 'pw', 'db', 'redis://:pw@redis:6379/2', 'g-secret']"


def test_an_unreadable_secret_file_is_named_without_a_traceback(tmp_path):
    missing = tmp_path / "no-such-secret"
    result = manage("check", env={**PRODUCTION, "SECRET_KEY_FILE": str(missing)})

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Baton: SECRET_KEY_FILE={missing}: cannot read this file (No such file or directory); "
        "it should hold the value of SECRET_KEY."
    ]


def test_a_bad_trusted_proxy_is_named_without_a_traceback():
    result = manage("check", env={**PRODUCTION, "BATON_TRUSTED_PROXIES": "10.0.0.0/8,proxy.lan"})

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Baton: BATON_TRUSTED_PROXIES: 'proxy.lan' is not an IP address or a network such as "
        "10.0.0.0/8 (separate several with commas)."
    ]


def test_logs_are_json_lines_when_asked():
    code = (
        "import logging; log = logging.getLogger('baton.test');"
        "log.warning('run %s failed', 42, extra={'run_id': 42});"
        "log.info('two\\nlines')"
    )

    result = manage("shell", "--no-imports", "-c", code, env={"BATON_LOG_FORMAT": "json"})

    lines = [json.loads(line) for line in result.stderr.strip().splitlines()]
    assert [(e["level"], e["logger"], e["message"]) for e in lines] == [
        ("WARNING", "baton.test", "run 42 failed"),
        ("INFO", "baton.test", "two\nlines"),
    ]
    assert lines[0]["run_id"] == 42
    assert lines[0]["time"].endswith("+00:00")


def test_an_unknown_log_format_is_named():
    result = manage("check", env={"BATON_LOG_FORMAT": "xml"})

    assert result.returncode == 1
    assert result.stderr.strip() == "Baton: BATON_LOG_FORMAT must be plain or json, not 'xml'."


def test_check_deploy_is_clean_as_the_stack_files_configure_it(secret_files):
    """As compose.yaml and deploy/swarm-stack.yml set it: secrets as files, behind a proxy."""
    env = {
        **PRODUCTION,
        "SECRET_KEY": "",
        "SECRET_KEY_FILE": secret_files("secret_key", secrets.token_urlsafe(50) + "\n"),
        "BATON_TRUSTED_PROXIES": "10.0.0.0/8",
        "BATON_LOG_FORMAT": "json",
        "CSRF_TRUSTED_ORIGINS": "https://baton.example.com",
    }

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_workflow_secret_may_come_from_a_file_too(tmp_path, monkeypatch):
    token = tmp_path / "billing_token"
    token.write_text("t0ken\n")
    monkeypatch.setenv("BILLING_TOKEN_FILE", str(token))

    assert Secret("BILLING_TOKEN").resolve() == "t0ken"

    monkeypatch.setenv("BILLING_TOKEN_FILE", str(tmp_path / "gone"))
    with pytest.raises(MissingSecret, match="BILLING_TOKEN_FILE=.*gone: cannot read this file"):
        Secret("BILLING_TOKEN").resolve()
