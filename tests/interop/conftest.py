"""Interop test fixtures: a real `healthhub serve` process per database.

The `hh` fixture is session-scoped and parametrized over ["sqlite", "postgres"], so every test
that uses it runs once against a server on a fresh SQLite file and once against a server on a
fresh PostgreSQL database (created on the server named by HEALTHHUB_TEST_POSTGRES_URL).

Environment:
  HEALTHHUB_BIN                 path of the built `healthhub` binary (scripts/test sets it);
                                without it every test is skipped with a message.
  HEALTHHUB_TEST_POSTGRES_URL   postgres://... of a server we may create databases on;
                                without it the postgres half is skipped with a message.
"""

from __future__ import annotations

import base64
import os
import queue
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

HEALTHHUB_BIN = os.environ.get("HEALTHHUB_BIN", "")
PG_URL = os.environ.get("HEALTHHUB_TEST_POSTGRES_URL", "")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
READY_RE = re.compile(r"HealthHub ready at (http://[^\s]+?)/? \(FHIR base (http://[^\s)]+)\)")
FHIR_JSON = "application/fhir+json"

# Everything stays on this machine: never route test traffic through a proxy.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def pytest_collection_modifyitems(config, items):
    if not HEALTHHUB_BIN:
        skip = pytest.mark.skip(
            reason="HEALTHHUB_BIN is not set: run scripts/test, or build and "
            "export HEALTHHUB_BIN=$PWD/.build/release/healthhub"
        )
        for item in items:
            item.add_marker(skip)


def _pg_url_with_db(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def _psql(url: str, sql: str) -> str:
    res = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if res.returncode != 0:
        raise RuntimeError(f"psql failed ({sql}): {res.stderr.strip()}")
    return res.stdout


class ClientCredentials(requests.auth.AuthBase):
    """Bearer tokens of a backend client (client_credentials), fetched again before they expire."""

    def __init__(self, server: "HealthHubServer", client_id: str, client_secret: str, scope: str):
        self.server = server
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.token = ""
        self.expires = 0.0

    def current(self) -> str:
        if time.monotonic() > self.expires - 30:
            resp = requests.post(self.server.root + "/oauth/token", auth=(self.client_id, self.client_secret),
                                 data={"grant_type": "client_credentials", "scope": self.scope}, timeout=30)
            resp.raise_for_status()
            body = resp.json()
            self.token = body["access_token"]
            self.expires = time.monotonic() + body["expires_in"]
        return self.token

    def __call__(self, request):
        request.headers["Authorization"] = "Bearer " + self.current()
        return request


class HealthHubServer:
    """One running `healthhub serve` process."""

    def __init__(self, kind: str, workdir: Path, master_key: str | None = None):
        self.kind = kind
        self.workdir = workdir
        self.master_key = master_key or base64.b64encode(secrets.token_bytes(32)).decode()
        self.database_url = ""
        self.pg_dbname = ""
        self.proc: subprocess.Popen | None = None
        self.stderr_path = workdir / "server.stderr.log"
        self.stdout_lines: list[str] = []
        self.root = ""  # http://127.0.0.1:PORT
        self.base = ""  # http://127.0.0.1:PORT/fhir
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers.update({"Accept": FHIR_JSON})
        self.env_extra: dict[str, str] = {}

    # -- lifecycle --------------------------------------------------------------------------
    def prepare_database(self) -> None:
        if self.kind == "sqlite":
            self.database_url = f"sqlite://{self.workdir / 'interop.db'}"  # absolute: sqlite:///...
        elif self.kind == "postgres":
            if not PG_URL:
                pytest.skip(
                    "HEALTHHUB_TEST_POSTGRES_URL is not set: PostgreSQL half skipped "
                    "(scripts/test starts a throwaway cluster and sets it)"
                )
            self.pg_dbname = "interop_" + secrets.token_hex(6)
            _psql(PG_URL, f"CREATE DATABASE {self.pg_dbname}")
            self.database_url = _pg_url_with_db(PG_URL, self.pg_dbname)
        else:
            raise ValueError(self.kind)

    def start(self) -> None:
        if not os.access(HEALTHHUB_BIN, os.X_OK):
            pytest.fail(f"HEALTHHUB_BIN={HEALTHHUB_BIN!r} is not an executable file")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHHUB_")}
        env["HEALTHHUB_MASTER_KEY"] = self.master_key
        env.update(self.env_extra)
        cmd = [HEALTHHUB_BIN, "serve", "--host", "127.0.0.1", "--port", "0",
               "--database", self.database_url]
        stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=stderr,
        )
        stderr.close()
        lines: queue.Queue[str | None] = queue.Queue()

        def pump(stream):
            # Keep draining stdout for the whole life of the server so it never blocks.
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.stdout_lines.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, args=(self.proc.stdout,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail_start(f"no ready line within {START_TIMEOUT_S} s")
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=10)
                self._fail_start(f"server exited with status {self.proc.returncode} before ready")
            m = READY_RE.search(line)
            if m:
                self.root, self.base = m.group(1).rstrip("/"), m.group(2).rstrip("/")
                # The tests act as a backend service with every scope, registered like any client.
                client = self.new_client("interop", "system/*.cruds")
                self.auth = ClientCredentials(self, client["client_id"], client["client_secret"], "system/*.cruds")
                self.session.auth = self.auth
                return

    def _fail_start(self, why: str) -> None:
        self.stop()
        pytest.fail(
            f"healthhub serve ({self.kind}, {self.database_url}) failed to start: {why}\n"
            f"--- stdout ---\n" + "\n".join(self.stdout_lines[-50:]) +
            f"\n--- stderr (tail) ---\n{self.stderr_tail()}",
            pytrace=False,
        )

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Runs `healthhub <args> --database <this database>` and returns its stdout."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHHUB_")}
        env["HEALTHHUB_MASTER_KEY"] = self.master_key
        res = subprocess.run([HEALTHHUB_BIN, *args, "--database", self.database_url], cwd=self.workdir, env=env,
                             input=stdin, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"healthhub {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()}")
        return res.stdout

    def new_client(self, name: str, scopes: str, *extra: str) -> dict:
        import json as _json
        return _json.loads(self.cli("clients", "create", "--name", name, "--scopes", scopes, "--json", *extra))

    def stderr_tail(self, limit: int = 8000) -> str:
        try:
            return self.stderr_path.read_bytes()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM, wait; returns the exit status (None if it had to be killed)."""
        status = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                status = None
        elif self.proc is not None:
            status = self.proc.returncode
        self.session.close()
        return status

    def drop_database(self) -> None:
        if self.pg_dbname and PG_URL:
            try:
                _psql(PG_URL, f"DROP DATABASE IF EXISTS {self.pg_dbname} WITH (FORCE)")
            except Exception as e:  # best effort: the cluster is thrown away anyway
                print(f"warning: could not drop {self.pg_dbname}: {e}")

    # -- HTTP helpers -----------------------------------------------------------------------
    def url(self, path: str) -> str:
        path = path.lstrip("/")
        return self.base + "/" + path if path else self.base

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.url(path), timeout=30, **kw)

    def post(self, path: str, json_body=None, data=None, headers=None, **kw) -> requests.Response:
        import json as _json
        h = {"Content-Type": FHIR_JSON}
        h.update(headers or {})
        body = data if data is not None else _json.dumps(json_body)
        return self.session.post(self.url(path), data=body.encode() if isinstance(body, str) else body,
                                 headers=h, timeout=60, **kw)

    def put(self, path: str, json_body, headers=None, **kw) -> requests.Response:
        import json as _json
        h = {"Content-Type": FHIR_JSON}
        h.update(headers or {})
        return self.session.put(self.url(path), data=_json.dumps(json_body).encode(),
                                headers=h, timeout=60, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.session.delete(self.url(path), timeout=30, **kw)


def start_server(kind: str, tmp_path_factory) -> HealthHubServer:
    server = HealthHubServer(kind, tmp_path_factory.mktemp(f"hh-{kind}"))
    server.prepare_database()
    try:
        server.start()
    except BaseException:
        server.drop_database()
        raise
    return server


@pytest.fixture(params=["sqlite", "postgres"])
def server_factory(request, tmp_path_factory):
    """Start servers on one fresh database of the parametrized kind, one after another.

    `start()` starts a server on that database with the same master key each time (restart),
    with `env` added to its environment (HEALTHHUB_* settings); servers still running at the end
    are stopped, and the database is dropped.
    """
    started: list[HealthHubServer] = []
    first = HealthHubServer(request.param, tmp_path_factory.mktemp(f"hhf-{request.param}"))
    first.prepare_database()

    def start(env: dict[str, str] | None = None) -> HealthHubServer:
        if not started:
            server = first
        else:
            server = HealthHubServer(first.kind, first.workdir, master_key=first.master_key)
            server.database_url = first.database_url
            server.stderr_path = first.workdir / f"server{len(started)}.stderr.log"
        started.append(server)
        server.env_extra = dict(env or {})
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
    first.drop_database()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def hh(request, tmp_path_factory):
    """A running HealthHub server (one per database kind for the whole session)."""
    server = start_server(request.param, tmp_path_factory)
    yield server
    status = server.stop()
    server.drop_database()
    if status is None:
        pytest.fail(
            f"healthhub ({server.kind}) did not exit within {STOP_TIMEOUT_S} s of SIGTERM\n"
            + server.stderr_tail(),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def fhir_base(hh) -> str:
    return hh.base
