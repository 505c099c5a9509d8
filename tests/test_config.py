import pytest

from bulkapp.config import ConfigError, load_config, normalise_database_url


def test_production_requires_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config({"BULKAPP_ENV": "production"})


def test_production_is_the_default_environment():
    with pytest.raises(ConfigError):
        load_config({})


def test_development_runs_without_a_secret_key_and_defaults_to_sqlite_under_instance():
    config = load_config({"BULKAPP_ENV": "development"})
    assert config["SECRET_KEY"]
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("instance/bulkapp.db")
    assert config["SESSION_COOKIE_SECURE"] is False


def test_production_reads_every_setting_from_the_environment():
    config = load_config(
        {
            "BULKAPP_ENV": "production",
            "SECRET_KEY": "s3cret",
            "DATABASE_URL": "postgres://u:p@db:5432/app",
            "REDIS_URL": "rediss://:pw@cache:6380/0",
            "UPLOAD_DIR": "/data/uploads",
            "MAX_CONTENT_LENGTH": "1048576",
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db:5432/app"
    assert config["REDIS_URL"] == "rediss://:pw@cache:6380/0"
    assert config["UPLOAD_DIR"] == "/data/uploads"
    assert config["MAX_CONTENT_LENGTH"] == 1048576
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://h/db", "postgresql+psycopg://h/db"),
        ("postgresql://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised(url, expected):
    assert normalise_database_url(url) == expected


def test_malformed_numbers_fail_fast_with_the_variable_name():
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        load_config({"BULKAPP_ENV": "development", "MAX_CONTENT_LENGTH": "lots"})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="BULKAPP_ENV"):
        load_config({"BULKAPP_ENV": "staging"})


def test_the_file_store_is_local_unless_set_and_a_typo_is_refused():
    assert load_config({"BULKAPP_ENV": "development"})["FILE_STORE"] == "local"
    chosen = load_config({"BULKAPP_ENV": "development", "FILE_STORE": " Database "})
    assert chosen["FILE_STORE"] == "database"
    with pytest.raises(ConfigError, match="FILE_STORE must be one of local, database"):
        load_config({"BULKAPP_ENV": "development", "FILE_STORE": "s3"})


@pytest.mark.parametrize(
    "url, verify, expected",
    [
        ("rediss://:pw@host:6380", "false", "rediss://:pw@host:6380?ssl_cert_reqs=none"),
        (
            "rediss://:pw@host:6380/0?health=1",
            "0",
            "rediss://:pw@host:6380/0?health=1&ssl_cert_reqs=none",
        ),
        ("rediss://:pw@host:6380", "", "rediss://:pw@host:6380"),
        ("redis://host:6379/0", "false", "redis://host:6379/0"),
    ],
)
def test_redis_tls_verify_false_turns_certificate_checks_off_for_tls_urls_only(
    url, verify, expected
):
    environ = {"BULKAPP_ENV": "development", "REDIS_URL": url, "REDIS_TLS_VERIFY": verify}
    assert load_config(environ)["REDIS_URL"] == expected
