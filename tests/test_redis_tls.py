"""Redis over TLS with a self-signed certificate, as Heroku Data for Redis serves it: with
``REDIS_TLS_VERIFY=false`` the web, the rate limiter, rq-dashboard, the workers and cron all
connect; with the default they refuse the certificate. A real ``redis-server`` speaks TLS."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bulkapp import create_app
from bulkapp.config import load_config
from bulkapp.extensions import get_redis, limiter
from bulkapp.jobs.redis_patience import patient_redis
from tests.conftest import free_port


@pytest.fixture(scope="module")
def tls_redis_url(tmp_path_factory) -> Iterator[str]:
    """A redis-server that speaks only TLS, with a self-signed certificate."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is needed to make the test certificate")
        pytest.skip("openssl is missing")
    folder = tmp_path_factory.mktemp("tls-redis")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=redis.example"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert)]
        + ["--tls-key-file", str(key), "--tls-auth-clients", "no", "--save", ""]
        + ["--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"rediss://127.0.0.1:{port}/0"
    unchecked = Redis.from_url(url, ssl_cert_reqs="none", socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            unchecked.ping()
            break
        except RedisConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.skip("this redis-server cannot serve TLS")
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


def app_for(tmp_path: Path, redis_url: str, **environ: str):
    return create_app(
        load_config(
            {
                "BULKAPP_ENV": "testing",
                "INSTANCE_DIR": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'tls.db'}",
                "REDIS_URL": redis_url,
                **environ,
            }
        )
    )


def test_without_verification_every_redis_client_connects(tls_redis_url, tmp_path):
    app = app_for(tmp_path, tls_redis_url, REDIS_TLS_VERIFY="false")
    with app.app_context():
        assert get_redis().ping()  # the web's client
        assert limiter.storage.check()  # the rate limiter's
        [dashboard_url] = app.config["RQ_DASHBOARD_REDIS_URL"]
        dashboard = Redis.from_url(dashboard_url)
        assert dashboard.ping()  # rq-dashboard builds its client from this URL
        assert patient_redis(app.config["REDIS_URL"]).ping()  # workers and cron


def test_by_default_a_self_signed_certificate_is_refused(tls_redis_url, tmp_path):
    app = app_for(tmp_path, tls_redis_url)
    with app.app_context():
        with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            get_redis().ping()
