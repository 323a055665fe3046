#!/usr/bin/env python3
"""HealthHub benchmark driver (stdlib only). bench/run calls it; see bench/README.md.

  bench.py measure --kind sqlite|postgres --bin PATH --out RESULT.json [--pg-url URL] [--synthea DIR]
  bench.py report  --doc docs/benchmarks.md RESULT.json...

`measure` runs, for one database kind:
  (a) start-to-first-response: exec `healthhub serve` on an empty migrated database and time the
      first 200 of GET /health (polled every 2 ms), median of BENCH_START_RUNS (5) runs;
  (b) import of the Synthea sample (the two 0-*Information* bundles first, then the patient
      bundles) with `healthhub import`, rate from its summary line; `healthhub demo` when the
      sample is absent;
  (c) idle RSS (VmRSS) of a server on that data after BENCH_IDLE_SECONDS (5) s;
  (d) wrk load: GET /health (baseline), read Patient by id, search Observation by patient+code,
      create Observation; req/s and latency percentiles from a Lua done() hook;
  (e) peak RSS (VmHWM) after the load;
  (f) optional (BENCH_SEARCH_SCALE="100 10000"): search p99 on demo data of each size.
All traffic goes to 127.0.0.1 only; every wait and loop is bounded.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import glob
import http.client
import json
import os
import platform
import queue
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

READY_RE = re.compile(r"HealthHub ready at (http://[^\s]+?)/? \(FHIR base (http://[^\s)]+)\)")
IMPORT_RE = re.compile(
    r"Imported (\d+) resources from (\d+) files in ([\d.]+) s \(([\d.]+) resources/s\), (\d+) failed"
)
FHIR_JSON = "application/fhir+json"

DURATION = int(os.environ.get("BENCH_DURATION", "20"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
START_RUNS = int(os.environ.get("BENCH_START_RUNS", "5"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "5"))
DEMO_PATIENTS = int(os.environ.get("BENCH_DEMO_PATIENTS", "120"))
SEARCH_SCALE = [int(x) for x in os.environ.get("BENCH_SEARCH_SCALE", "").split()]
# A binary of an earlier commit (bench/run builds it from BENCH_BASELINE_REF) served on the same
# data right after: the overhead of what was added since, measured in the same session.
BASELINE_BIN = os.environ.get("BENCH_BASELINE_BIN", "")
# The benchmark flavour (bench/build-benchmark) for the gateway-overhead runs; without it they are left out.
GATEWAY_BIN = os.environ.get("BENCH_GATEWAY_BIN", "")
BASELINE_REF = os.environ.get("BENCH_BASELINE_REF", "")
# A baseline that already authenticates (any commit from 77f3187 on) is loaded with tokens like
# this build, so the comparison is like for like (BENCH_BASELINE_TOKENS=1).
BASELINE_TOKENS = os.environ.get("BENCH_BASELINE_TOKENS", "") == "1"
N_IDS = 200

# PRODUCT.md, area K (targets on a 2-core machine, load generator included).
TARGETS = {
    "read_rps": {"sqlite": 10000, "postgres": 5000},
    "read_p99_ms": 5.0,
    "create_rps": 1500,
    "import_rps": 3000,
    "start_ms": 300,
    "idle_rss_mb": 80,
    "search_flat_ratio": 2.0,
}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------
class Database:
    """A fresh database of one kind; `url` is what healthhub gets as --database."""

    def __init__(self, kind: str, workdir: Path, pg_url: str | None, label: str):
        self.kind = kind
        self.dbname = ""
        self.pg_url = pg_url
        if kind == "sqlite":
            self.url = f"sqlite://{workdir / (label + '.db')}"
        else:
            if not pg_url:
                raise SystemExit("--pg-url is required for postgres")
            self.dbname = f"bench_{label}_{secrets.token_hex(4)}"
            psql(pg_url, f"CREATE DATABASE {self.dbname}")
            parts = urllib.parse.urlsplit(pg_url)
            self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.dbname))

    def drop(self) -> None:
        if self.dbname:
            try:
                psql(self.pg_url, f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
            except Exception as e:  # best effort; the cluster is thrown away anyway
                log(f"could not drop {self.dbname}: {e}")


def psql(url: str, sql: str) -> str:
    res = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"psql: {res.stderr.strip()}")
    return res.stdout


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------
def child_env(master_key: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHHUB_")}
    env["HEALTHHUB_MASTER_KEY"] = master_key
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # Rate limiting stays on (its cost is part of what is measured) with budgets wrk cannot
    # exhaust: one load generator on one address is exactly what the defaults would stop.
    for name in ("IP", "USER", "CLIENT"):
        env[f"HEALTHHUB_RATE_LIMIT_{name}"] = "100000000/100000000"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: str, db: Database, workdir: Path, master_key: str, port: int = 0, extra_env: dict | None = None):
        self.stderr_path = workdir / f"serve-{time.monotonic_ns()}.stderr.log"
        self.binary, self.db, self.key = binary, db, master_key
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.cmd = [binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--database", db.url]
        env = child_env(master_key)
        env.update(extra_env or {})
        with open(self.stderr_path, "wb") as err:
            self.t0 = time.perf_counter()
            self.proc = subprocess.Popen(self.cmd, cwd=workdir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        threading.Thread(target=self._pump, daemon=True).start()
        self.root = ""
        self.base = ""

    def _pump(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def wait_ready(self, timeout: float = 60) -> "Server":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            m = READY_RE.search(line)
            if m:
                self.root, self.base = m.group(1).rstrip("/"), m.group(2).rstrip("/")
                return self
        self.stop()
        raise RuntimeError(f"server did not become ready: {' '.join(self.cmd)}\n{self.stderr_tail()}")

    def stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_bytes()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def status_kb(self, field: str) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"{field} not in /proc/{self.proc.pid}/status")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                return None
        return self.proc.returncode


class BackendToken:
    """A backend client (client_credentials, system/*.cruds) registered with the CLI, as a real
    deployment would; its access token is fetched again before each scenario (tokens live 5 min)."""

    current: "BackendToken | None" = None

    def __init__(self, binary: str, db: "Database", workdir: Path, key: str, root: str):
        res = subprocess.run([binary, "clients", "create", "--name", "bench", "--scopes", "system/*.cruds", "--json", "--database", db.url],
                             cwd=workdir, env=child_env(key), capture_output=True, text=True, timeout=120, check=True)
        creds = json.loads(res.stdout)
        self.client_id, self.secret, self.root = creds["client_id"], creds["client_secret"], root
        self.token, self.fetched = "", 0.0

    def header(self) -> str:
        if time.monotonic() - self.fetched > 120:
            u = urllib.parse.urlsplit(self.root)
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
            conn.request("POST", "/oauth/token", body="grant_type=client_credentials",
                         headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            conn.close()
            if resp.status != 200:
                raise RuntimeError(f"token request -> {resp.status} {body}")
            self.token, self.fetched = body["access_token"], time.monotonic()
        return "Bearer " + self.token


def http_json(method: str, url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict | None]:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        headers = {"Accept": FHIR_JSON}
        if BackendToken.current and u.path.startswith("/fhir"):
            headers["Authorization"] = BackendToken.current.header()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = FHIR_JSON
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# (a) start to first response
# --------------------------------------------------------------------------------------------
def first_response_ms(binary: str, db: Database, workdir: Path, key: str) -> float:
    port = free_port()
    srv = Server(binary, db, workdir, key, port=port)
    deadline = srv.t0 + 30
    try:
        while time.perf_counter() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return (time.perf_counter() - srv.t0) * 1000
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected,
                    socket.timeout, OSError):
                pass
            if srv.proc.poll() is not None:
                raise RuntimeError(f"server exited ({srv.proc.returncode}):\n{srv.stderr_tail()}")
            time.sleep(0.002)
        raise RuntimeError(f"no 200 from /health within 30 s:\n{srv.stderr_tail()}")
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------
# (b) import
# --------------------------------------------------------------------------------------------
def synthea_files(folder: Path) -> list[str]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and re.search(r"\.(json|ndjson)(\.bz2|\.gz)?$", p.name))
    info = [str(p) for p in files if p.name.startswith("0-") and "Information" in p.name]
    rest = [str(p) for p in files if str(p) not in info]
    return info + rest


def run_import(binary: str, db: Database, workdir: Path, key: str, files: list[str]) -> dict:
    cmd = [binary, "import", "--database", db.url, *files]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=workdir, env=child_env(key), capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"import failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    m = None
    for line in res.stdout.splitlines():
        m = IMPORT_RE.search(line) or m
    if m is None:
        raise RuntimeError(f"no summary line in import output:\n{res.stdout[-2000:]}")
    return {
        "resources": int(m.group(1)), "files": int(m.group(2)), "seconds": float(m.group(3)),
        "rps": float(m.group(4)), "failed": int(m.group(5)), "wall_seconds": round(wall, 2),
        "summary": m.group(0),
    }


def run_demo(binary: str, db: Database, workdir: Path, key: str, patients: int) -> float:
    t0 = time.perf_counter()
    res = subprocess.run([binary, "demo", "--database", db.url, "--patients", str(patients)],
                         cwd=workdir, env=child_env(key), capture_output=True, text=True, timeout=7200)
    if res.returncode != 0:
        raise RuntimeError(f"demo failed ({res.returncode}):\n{res.stderr[-4000:]}")
    return time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# (d) wrk
# --------------------------------------------------------------------------------------------
LUA_DONE = r'''
done = function(summary, latency, requests)
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d," ..
    "\"err_connect\":%d,\"err_read\":%d,\"err_write\":%d,\"err_status\":%d,\"err_timeout\":%d," ..
    "\"mean_us\":%.1f,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"p999_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
'''


def auth_header() -> str:
    return BackendToken.current.header() if BackendToken.current else ""


def lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def lua_cycle_get(paths: list[str]) -> str:
    return f'''
local paths = {lua_list(paths)}
local i = 0
local hdrs = {{["Accept"] = "{FHIR_JSON}", ["Authorization"] = "{auth_header()}"}}
init = function(args) i = math.random(#paths) end
request = function()
  i = (i % #paths) + 1
  return wrk.format("GET", paths[i], hdrs)
end
''' + LUA_DONE


def lua_post(path: str, body: dict) -> str:
    return f'''
wrk.method = "POST"
wrk.path = {json.dumps(path)}
wrk.body = {json.dumps(json.dumps(body))}
wrk.headers["Content-Type"] = "{FHIR_JSON}"
wrk.headers["Accept"] = "{FHIR_JSON}"
wrk.headers["Authorization"] = "{auth_header()}"
''' + LUA_DONE


SCRIPT_DIR: Path | None = None  # where the generated Lua scripts are kept (bench/results)
KIND = ""


def run_wrk(name: str, url: str, script: str, workdir: Path, duration: int) -> dict:
    script_path = (SCRIPT_DIR or workdir) / f"{KIND}-{name}.lua"
    script_path.write_text(script)
    cmd = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "--timeout", "10s",
           "-s", str(script_path), url]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if res.returncode != 0:
        raise RuntimeError(f"wrk failed: {res.stderr}\n{res.stdout}")
    data = None
    for line in res.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON "):])
    if data is None:
        raise RuntimeError(f"no BENCH_JSON line from wrk:\n{res.stdout}")
    secs = data["duration_us"] / 1e6
    data["rps"] = round(data["requests"] / secs, 1) if secs else 0.0
    data["p99_ms"] = round(data["p99_us"] / 1000, 3)
    data["p50_ms"] = round(data["p50_us"] / 1000, 3)
    data["errors"] = sum(data[k] for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
    m = re.search(r"Requests/sec:\s+([\d.]+)", res.stdout)
    data["wrk_rps_line"] = float(m.group(1)) if m else None
    data["command"] = " ".join(cmd[:-2] + [os.path.relpath(script_path), url])
    log(f"{name}: {data['rps']:.0f} req/s, p50 {data['p50_ms']} ms, p99 {data['p99_ms']} ms, "
        f"errors {data['errors']} (non-2xx/3xx {data['err_status']})")
    return data


def collect_ids(base: str, resource_type: str, want: int) -> list[str]:
    ids: list[str] = []
    url = f"{base}/{resource_type}?_count=100"
    for _ in range(20):  # bounded paging
        status, bundle = http_json("GET", url)
        if status != 200 or not bundle:
            raise RuntimeError(f"GET {url} -> {status}")
        for e in bundle.get("entry", []):
            rid = (e.get("resource") or {}).get("id")
            if rid and rid not in ids:
                ids.append(rid)
        nxt = [link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"]
        if len(ids) >= want or not nxt:
            break
        url = nxt[0]
    return ids[:want]


def observation_body(patient_id: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2024-05-02T09:40:00+01:00",
        "valueQuantity": {"value": 72, "unit": "beats/minute", "system": "http://unitsofmeasure.org",
                          "code": "/min"},
    }


def load_suite(srv: Server, workdir: Path, scenarios: list[str], with_token: bool = True) -> dict:
    BackendToken.current = BackendToken(srv.binary, srv.db, workdir, srv.key, srv.root) if with_token else None
    u = urllib.parse.urlsplit(srv.root)
    host = f"http://{u.hostname}:{u.port}"
    fhir_path = urllib.parse.urlsplit(srv.base).path  # /fhir
    ids = collect_ids(srv.base, "Patient", N_IDS)
    if not ids:
        raise RuntimeError("no Patient ids found for the load test")
    log(f"{len(ids)} patient ids for read/search")
    # Built when run, so each scenario carries a fresh token.
    scripts = {
        "health": lambda: ("/health", lua_cycle_get(["/health"])),
        "read": lambda: (f"{fhir_path}/Patient/{ids[0]}", lua_cycle_get([f"{fhir_path}/Patient/{i}" for i in ids])),
        "search": lambda: (f"{fhir_path}/Observation",
                           lua_cycle_get([f"{fhir_path}/Observation?patient={i}&code="
                                          + urllib.parse.quote("http://loinc.org|8867-4", safe="") for i in ids])),
        "create": lambda: (f"{fhir_path}/Observation", lua_post(f"{fhir_path}/Observation", observation_body(ids[0]))),
    }
    # Sanity: each scenario's request works once before we load it.
    status, _ = http_json("GET", f"{host}{fhir_path}/Patient/{ids[0]}")
    assert status == 200, f"read sanity check -> {status}"
    status, b = http_json("GET", f"{host}{fhir_path}/Observation?patient={ids[0]}&code="
                          + urllib.parse.quote("http://loinc.org|8867-4", safe=""))
    assert status == 200, f"search sanity check -> {status}"
    out: dict = {"patient_ids": len(ids), "search_sample_total": (b or {}).get("total")}
    for name in scenarios:
        path, script = scripts[name]()
        if WARMUP > 0:
            run_wrk(f"{name}-warmup", host + path, script, workdir, WARMUP)
            (SCRIPT_DIR or workdir).joinpath(f"{KIND}-{name}-warmup.lua").unlink(missing_ok=True)
        out[name] = run_wrk(name, host + path, script, workdir, DURATION)
    return out


# --------------------------------------------------------------------------------------------
# measure
# --------------------------------------------------------------------------------------------
def measure(args) -> None:
    global SCRIPT_DIR, KIND
    kind = KIND = args.kind
    SCRIPT_DIR = Path(args.out).resolve().parent
    SCRIPT_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"hhbench-{kind}-"))
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    result: dict = {"kind": kind, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "duration_s": DURATION, "threads": THREADS, "connections": CONNECTIONS, "notes": []}
    dbs: list[Database] = []
    try:
        # (a) start to first response, empty migrated database
        db = Database(kind, workdir, args.pg_url, "start")
        dbs.append(db)
        subprocess.run([args.bin, "migrate", "--database", db.url], cwd=workdir, env=child_env(key),
                       check=True, capture_output=True, timeout=300)
        runs = [first_response_ms(args.bin, db, workdir, key) for _ in range(START_RUNS)]
        result["start_ms_runs"] = [round(r, 1) for r in runs]
        result["start_ms"] = round(statistics.median(runs), 1)
        log(f"start to first response: median {result['start_ms']} ms of {runs}")

        # (b) import
        db = Database(kind, workdir, args.pg_url, "data")
        dbs.append(db)
        folder = Path(args.synthea) if args.synthea else None
        if folder and folder.is_dir() and synthea_files(folder):
            files = synthea_files(folder)
            log(f"importing {len(files)} files from {folder}")
            result["import"] = run_import(args.bin, db, workdir, key, files)
            result["import"]["command"] = (f"healthhub import --database {redact(db.url)} "
                                           f"{folder}/0-*Information*.json.bz2 <then the {len(files) - 2} patient bundles>")
            log(f"import: {result['import']['summary']}")
        else:
            msg = (f"Synthea sample not found at {folder}: import rate not measured; "
                   f"loaded `healthhub demo --patients {DEMO_PATIENTS}` instead")
            log(msg)
            result["notes"].append(msg)
            result["demo_seconds"] = round(run_demo(args.bin, db, workdir, key, DEMO_PATIENTS), 1)

        # (c) idle RSS, (d) load, (e) peak RSS
        srv = Server(args.bin, db, workdir, key).wait_ready()
        try:
            time.sleep(IDLE_SECONDS)
            result["idle_rss_mb"] = round(srv.status_kb("VmRSS") / 1024, 1)
            log(f"idle RSS {result['idle_rss_mb']} MB")
            result["load"] = load_suite(srv, workdir, ["health", "read", "search", "create"])
            result["peak_rss_mb"] = round(srv.status_kb("VmHWM") / 1024, 1)
            log(f"peak RSS {result['peak_rss_mb']} MB")
        finally:
            result["exit_status"] = srv.stop()

        # (e2) the same read and search on the same data with the baseline binary
        if BASELINE_BIN:
            BackendToken.current = None
            base_srv = Server(BASELINE_BIN, db, workdir, key).wait_ready()
            try:
                result["baseline"] = {"ref": BASELINE_REF, "tokens": BASELINE_TOKENS,
                                      "load": load_suite(base_srv, workdir, ["read", "search"], with_token=BASELINE_TOKENS)}
            finally:
                base_srv.stop()

        # (e2b) gateway overhead: reads through the full chain and through the same build with no
        # gateway at all (HEALTHHUB_BENCHMARK_NO_GATEWAY, every request acting as a backend
        # client), on the same data, in the order full, bare, bare, full so that drift over the
        # run (a growing audit trail, a busier machine) weighs on both alike; each mode's mean.
        # Both modes run the benchmark flavour (GATEWAY_BIN): the shipped binary has no bypass.
        runs: dict = {"full": [], "bare": []}
        for mode in (("full", "bare", "bare", "full") if GATEWAY_BIN else ()):
            bare_mode = mode == "bare"
            BackendToken.current = None
            srv = Server(GATEWAY_BIN, db, workdir, key, extra_env={"HEALTHHUB_BENCHMARK_NO_GATEWAY": "1"} if bare_mode else None).wait_ready()
            try:
                time.sleep(IDLE_SECONDS)  # let start-up work (the first audit chain verification) finish
                runs[mode].append(load_suite(srv, workdir, ["read"], with_token=not bare_mode)["read"])
            finally:
                srv.stop()

        def mean(rs: list) -> dict:
            return {"rps": round(statistics.mean(r["rps"] for r in rs), 1), "p99_ms": round(statistics.mean(r["p99_ms"] for r in rs), 2),
                    "runs": [r["rps"] for r in rs]}
        if GATEWAY_BIN:
            full, bare = mean(runs["full"]), mean(runs["bare"])
            result["gateway"] = {"full": full, "bare": bare}
            log(f"gateway overhead on reads: {full['rps']} req/s with the chain ({full['runs']}), {bare['rps']} without ({bare['runs']})")
        else:
            log("gateway overhead left out: no benchmark flavour (BENCH_GATEWAY_BIN; bench/build-benchmark)")

        # (e3) audit verify over everything the load left in the trail
        t0 = time.perf_counter()
        res = subprocess.run([args.bin, "audit", "verify", "--database", db.url], cwd=workdir, env=child_env(key),
                             capture_output=True, text=True, timeout=3600)
        secs = time.perf_counter() - t0
        m = re.search(r"OK: (\d+) audit records", res.stdout)
        if res.returncode == 0 and m:
            n = int(m.group(1))
            result["audit_verify"] = {"records": n, "seconds": round(secs, 2), "rps": round(n / secs, 1)}
            log(f"audit verify: {n} records in {secs:.1f} s ({n / secs:.0f} records/s)")
        else:
            result["notes"].append(f"audit verify failed: {res.stdout.strip()[-300:]} {res.stderr.strip()[-300:]}")

        # (f) optional: search latency vs data size
        if SEARCH_SCALE:
            result["search_scale"] = []
            for n in SEARCH_SCALE:
                sdb = Database(kind, workdir, args.pg_url, f"scale{n}")
                dbs.append(sdb)
                log(f"search scale: demo --patients {n}")
                secs = run_demo(args.bin, sdb, workdir, key, n)
                s = Server(args.bin, sdb, workdir, key).wait_ready()
                try:
                    load = load_suite(s, workdir, ["search"])
                finally:
                    s.stop()
                result["search_scale"].append({"patients": n, "demo_seconds": round(secs, 1),
                                               "rps": load["search"]["rps"], "p99_ms": load["search"]["p99_ms"]})
    finally:
        for d in dbs:
            d.drop()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    log(f"wrote {args.out}")


def redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]+@", r"//\1:***@", url)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------
def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return "?"


def machine() -> dict:
    model = "?"
    for line in sh(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": sh(["nproc"]),
        "cpu": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "swift": sh(["swift", "--version"]).splitlines()[0] if sh(["swift", "--version"]) else "?",
        "wrk": (sh(["wrk", "--version"]).splitlines() or ["?"])[0].split(" Copyright")[0],
    }


def fmt_int(x) -> str:
    return f"{x:,.0f}"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def table(r: dict) -> str:
    kind = r["kind"]
    load = r.get("load", {})
    health = load.get("health", {})
    base = health.get("rps") or 0
    rows = ["| Measure | Result | vs /health | Target (PRODUCT.md K) | Verdict |",
            "|---|---|---|---|---|"]

    def ratio(x):
        return f"{x / base:.2f}×" if base else "—"

    def errs(d):
        return f", {d['errors']} errors" if d.get("errors") else ""

    if health:
        rows.append(f"| GET /health (baseline) | {fmt_int(health['rps'])} req/s, p99 {health['p99_ms']:.2f} ms{errs(health)} "
                    f"| 1.00× | — | — |")
    rd = load.get("read")
    if rd:
        tr = TARGETS["read_rps"][kind]
        ok = rd["rps"] >= tr and rd["p99_ms"] < TARGETS["read_p99_ms"] and not rd["errors"]
        rows.append(f"| Read Patient by id | {fmt_int(rd['rps'])} req/s, p99 {rd['p99_ms']:.2f} ms{errs(rd)} | {ratio(rd['rps'])} "
                    f"| ≥ {fmt_int(tr)} req/s, p99 < {TARGETS['read_p99_ms']:g} ms | {verdict(ok)} |")
    se = load.get("search")
    if se:
        rows.append(f"| Search Observation?patient&code | {fmt_int(se['rps'])} req/s, p99 {se['p99_ms']:.2f} ms{errs(se)} "
                    f"| {ratio(se['rps'])} | p99 flat (≤ 2×) from 100 to 10,000 patients | see below |")
    cr = load.get("create")
    if cr:
        ok = cr["rps"] >= TARGETS["create_rps"] and not cr["errors"]
        rows.append(f"| Create Observation | {fmt_int(cr['rps'])} req/s, p99 {cr['p99_ms']:.2f} ms{errs(cr)} | {ratio(cr['rps'])} "
                    f"| ≥ {fmt_int(TARGETS['create_rps'])} req/s | {verdict(ok)} |")
    imp = r.get("import")
    if imp:
        ok = imp["rps"] >= TARGETS["import_rps"] and imp["failed"] == 0
        rows.append(f"| Synthea import | {fmt_int(imp['rps'])} resources/s ({fmt_int(imp['resources'])} resources, "
                    f"{imp['files']} files, {imp['seconds']:.1f} s, {imp['failed']} failed) | — "
                    f"| ≥ {fmt_int(TARGETS['import_rps'])} resources/s | {verdict(ok)} |")
    else:
        rows.append(f"| Synthea import | not measured (sample absent) | — | ≥ {fmt_int(TARGETS['import_rps'])} resources/s | n/a |")
    if "start_ms" in r:
        rows.append(f"| Start to first response | {r['start_ms']:.0f} ms (median of {len(r['start_ms_runs'])}: "
                    f"{', '.join(f'{x:.0f}' for x in r['start_ms_runs'])}) | — | < {TARGETS['start_ms']} ms "
                    f"| {verdict(r['start_ms'] < TARGETS['start_ms'])} |")
    if "idle_rss_mb" in r:
        rows.append(f"| Idle RSS | {r['idle_rss_mb']:.1f} MB | — | < {TARGETS['idle_rss_mb']} MB "
                    f"| {verdict(r['idle_rss_mb'] < TARGETS['idle_rss_mb'])} |")
    if "peak_rss_mb" in r:
        rows.append(f"| Peak RSS (VmHWM, after load) | {r['peak_rss_mb']:.1f} MB | — | — | — |")
    out = "\n".join(rows)
    scale = r.get("search_scale")
    if scale:
        p99s = [s["p99_ms"] for s in scale]
        flat = max(p99s) / min(p99s) if min(p99s) > 0 else float("inf")
        out += "\n\nSearch latency vs data size (`healthhub demo --patients N`):\n\n| Patients | req/s | p99 ms |\n|---|---|---|\n"
        out += "\n".join(f"| {fmt_int(s['patients'])} | {fmt_int(s['rps'])} | {s['p99_ms']:.2f} |" for s in scale)
        covers = min(s["patients"] for s in scale) <= 100 and max(s["patients"] for s in scale) >= 10000
        out += (f"\n\np99 spread {flat:.2f}× (target ≤ {TARGETS['search_flat_ratio']:g}× from 100 to 10,000 patients): "
                + (verdict(flat <= TARGETS["search_flat_ratio"]) if covers else "n/a (sizes do not span 100 to 10,000)"))
    else:
        out += "\n\nSearch flatness not measured in this run (set `BENCH_SEARCH_SCALE=\"100 10000\"`)."
    av = r.get("audit_verify")
    if av:
        out += (f"\n\n`healthhub audit verify` after the load: {fmt_int(av['records'])} records in {av['seconds']:.1f} s, "
                f"**{fmt_int(av['rps'])} records/s** (each record read, decrypted, authenticated and hashed).")
    bl = r.get("baseline")
    if bl and bl.get("tokens"):
        out += (f"\n\nAgainst commit `{bl['ref']}` (tokens and audit on both sides) serving the same database right after, "
                f"same wrk settings:\n\n| Scenario | baseline | this build | loss | target |\n|---|---|---|---|---|\n")
    elif bl:
        out += (f"\n\nOverhead of tokens (ES256 verification) and the audit trail (one sealed, hash-chained AuditEvent per "
                f"request, committed before the response), against commit `{bl['ref']}` (no authentication, no audit) "
                f"serving the same database right after, same wrk settings:\n\n| Scenario | baseline | this build | loss | target |\n|---|---|---|---|---|\n")
    if bl:
        for key, name in (("read", "Read Patient by id"), ("search", "Search Observation?patient&code")):
            b, c = bl["load"].get(key), load.get(key)
            if b and c and b["rps"]:
                loss = 1 - c["rps"] / b["rps"]
                limit = 0.05 if bl.get("tokens") else 0.15
                out += (f"| {name} | {fmt_int(b['rps'])} req/s, p99 {b['p99_ms']:.2f} ms | {fmt_int(c['rps'])} req/s, p99 {c['p99_ms']:.2f} ms "
                        f"| {loss * 100:.0f}% | ≤ {limit * 100:.0f}% {verdict(loss <= limit)} |\n")
    gw = r.get("gateway")
    if gw and gw["bare"]["rps"]:
        f, b = gw["full"], gw["bare"]
        loss = 1 - f["rps"] / b["rps"]
        runs = lambda d: ", ".join(fmt_int(x) for x in d.get("runs", []))
        out += (f"\n\nGateway overhead on reads (Patient by id), the same build and data: the full chain (request id, "
                f"access log and metrics, security headers, CORS, WAF, rate limits, token verification) against no gateway "
                f"(`HEALTHHUB_BENCHMARK_NO_GATEWAY=1`, every request acting as a backend client), run full, bare, bare, full; "
                f"means of the two runs of each:\n\n"
                f"| Scenario | without gateway | full chain | overhead | target |\n|---|---|---|---|---|\n"
                f"| Read Patient by id | {fmt_int(b['rps'])} req/s ({runs(b)}), p99 {b['p99_ms']:.2f} ms "
                f"| {fmt_int(f['rps'])} req/s ({runs(f)}), p99 {f['p99_ms']:.2f} ms "
                f"| {loss * 100:.1f}% | ≤ 10% {verdict(loss <= 0.10)} |\n")
    for note in r.get("notes", []):
        out += f"\n\nNote: {note}"
    return out


def report(args) -> None:
    results = [json.loads(Path(p).read_text()) for p in args.results if Path(p).exists()]
    if not results:
        raise SystemExit("no result files")
    m = machine()
    first = results[0]
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    lines = [
        "<!-- bench:begin -->",
        "## Latest run",
        "",
        f"Generated by `bench/run` on {first['date']} (UTC). Numbers from one run on a shared machine: "
        "compare ratios to the `/health` baseline of the same run rather than absolute numbers.",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, Linux {m['kernel']}",
        f"- Toolchain: {m['swift']}; load generator {m['wrk']} on the same machine (as the targets assume)",
        f"- Build: `swift build -c release --product healthhub`",
        "",
        "Commands:",
        "",
        "```",
        f"BENCH_DURATION={first['duration_s']} bench/run",
    ]
    r0 = results[0]
    for key in ("health", "read", "search", "create"):
        d = r0.get("load", {}).get(key)
        if d:
            lines.append(d["command"])
    if r0.get("import"):
        lines.append(r0["import"]["command"])
    elif "demo_seconds" in r0:
        lines.append(f"healthhub demo --database <fresh database> --patients {DEMO_PATIENTS}")
    if r0.get("search_scale"):
        lines.append("healthhub demo --database <fresh database> --patients N   # N in BENCH_SEARCH_SCALE")
    lines += [
        "```",
        "",
        "(Ports are picked at random per run; the Lua scripts are generated by `bench/bench.py` and kept in "
        "`bench/results/`.)",
        "",
        f"wrk: {first['threads']} threads, {first['connections']} connections, {first['duration_s']} s per scenario "
        f"after a {WARMUP} s warm-up; read and search cycle through up to {N_IDS} real Patient ids; "
        "latency percentiles come from a Lua `done()` hook. Start time: exec of `healthhub serve` to the first "
        "200 of `GET /health` (2 ms polling) on an empty migrated database. Idle RSS: VmRSS "
        f"{IDLE_SECONDS:g} s after ready, on the loaded database.",
        "",
    ]
    for r in results:
        lines += [f"### {names.get(r['kind'], r['kind'])}", "", table(r), ""]
    lines.append("<!-- bench:end -->")
    section = "\n".join(lines)

    doc = Path(args.doc)
    if doc.exists():
        text = doc.read_text()
    else:
        text = ("# Benchmarks\n\nMeasured by `bench/run` (see `bench/README.md`). Targets are from "
                "PRODUCT.md area K. Benchmarks are not tests: nothing here gates CI.\n\n"
                "<!-- bench:begin -->\n<!-- bench:end -->\n")
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin in text and end in text and text.index(begin) < text.index(end):
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    log(f"updated {doc}")
    print(section)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--kind", choices=["sqlite", "postgres"], required=True)
    m.add_argument("--bin", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--pg-url")
    m.add_argument("--synthea")
    r = sub.add_parser("report")
    r.add_argument("--doc", required=True)
    r.add_argument("results", nargs="+")
    args = ap.parse_args()
    if args.cmd == "measure":
        measure(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
