"""Deny by default over a real socket: what the in-process router tests cannot send.

Raw request lines (absolute-form targets, raw %2F, thousands of slashes) go straight to the
server's port, with no client library normalising them first (security advisory HH-2026-001:
`GET //fhir/Patient` once answered 200 with every patient, without a token).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import urllib.parse

import fhir_samples as S
from hhinterop import expect, unique_word


def raw_request(root: str, request_line: str, headers: dict[str, str] | None = None, body: bytes = b"") -> tuple[int, bytes]:
    """Sends one HTTP/1.1 request exactly as written; returns the status and the whole answer."""
    parts = urllib.parse.urlsplit(root)
    head = [request_line, f"Host: {parts.netloc}", "Connection: close"]
    for name, value in (headers or {}).items():
        head.append(f"{name}: {value}")
    if body:
        head.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    return int(status_line.split(" ")[1]), answer


def test_odd_request_targets_never_answer_without_a_token(hh):
    family = unique_word("Sealed")
    created = hh.post("Patient", S.patient(family))
    expect(created, 201)
    pid = created.json()["id"]
    netloc = urllib.parse.urlsplit(hh.root).netloc
    patient_json = S.patient(unique_word("Intruder"))
    body = json.dumps(patient_json).encode()
    targets = [
        "//fhir/Patient", "///fhir/Patient", "/" * 5000 + "fhir/Patient", "/fhir//Patient", "/fhir/Patient/",
        "/./fhir/Patient", "/x/../fhir/Patient", "/fhir%2FPatient", "/fhir/Patient%2F" + pid, "/%66hir/Patient",
        "/fhir/Patient;jsessionid=1", "/fhir\\Patient", "/FHIR/Patient",
        "http://x//fhir/Patient", f"http://{netloc}//fhir/Patient", f"http://{netloc}/fhir/Patient",
        f"http://{netloc}/fhir/Patient/{pid}", "//fhir/AuditEvent", "//fhir/_history", "//api/waf",
        f"//fhir/Patient/{pid}", "http://x//fhir/AuditEvent",
    ]
    seen = {}
    for target in targets:
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"]:
            status, answer = raw_request(hh.root, f"{method} {target} HTTP/1.1",
                                         {"Content-Type": "application/fhir+json"} if method in ("POST", "PUT") else None,
                                         body if method in ("POST", "PUT") else b"")
            seen[(method, target[:60])] = status
            assert status in (400, 401, 404), f"{method} {target[:80]} -> {status}"
            assert family.encode() not in answer, f"{method} {target[:80]} revealed the patient"
    # a few are refused by the path check itself, with a 400 that says why
    assert seen[("GET", "//fhir/Patient")] == 400
    assert seen[("GET", "/fhir%2FPatient")] == 400
    assert seen[("GET", "http://x//fhir/Patient")] == 400
    # nothing was written along the way
    found = hh.get("Patient", params={"family": "Intruder"})
    expect(found, 200)
    assert not any(e["resource"]["name"][0]["family"].startswith("Intruder") for e in found.json().get("entry", []))
    still = hh.get(f"Patient/{pid}")
    expect(still, 200)
    assert still.json()["meta"]["versionId"] == "1"


def test_the_tokenless_requests_are_in_the_audit_trail(hh):
    status, _ = raw_request(hh.root, "GET /fhir/Patient HTTP/1.1")
    assert status == 401
    denied = hh.get("AuditEvent", params={"subtype": "denied", "_count": "200"})
    expect(denied, 200)
    queries = []
    for entry in denied.json().get("entry", []):
        for entity in entry["resource"].get("entity", []):
            if "query" in entity:
                queries.append(base64.b64decode(entity["query"]).decode())
    assert "GET /fhir/Patient" in queries


def test_a_foreign_host_header_mints_no_tokens(hh):
    """Without --public-base-url the issuer follows Host, so only loopback names are answered."""
    for host in ["evil.example", "evil.example:80", "127.0.0.1.evil.example"]:
        status, _ = raw_host(hh.root, "GET /fhir/metadata HTTP/1.1", host)
        assert status == 421, host
    body = b"grant_type=client_credentials"
    auth = base64.b64encode(f"{hh.auth.client_id}:{hh.auth.client_secret}".encode()).decode()
    status, answer = raw_host(hh.root, "POST /oauth/token HTTP/1.1", "evil.example",
                              {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + auth}, body)
    assert status == 421 and b"access_token" not in answer
    status, _ = raw_host(hh.root, "GET /fhir/metadata HTTP/1.1", "localhost:1")
    assert status == 200
    # an authority with more in it than a host and a port is no Host at all
    for odd in ["127.0.0.1:8311@evil.com", "[::1]evil.com", "127.0.0.1:8311, evil.com", "localhost:abc", "127.0.0.1:8311/evil"]:
        status, answer = raw_host(hh.root, "GET /.well-known/openid-configuration HTTP/1.1", odd)
        assert status == 400 and b"evil" not in answer, odd


def test_serve_off_loopback_needs_a_public_url_or_listed_hosts(tmp_path):
    res = subprocess.run([os.environ["HEALTHHUB_BIN"], "serve", "--host", "0.0.0.0", "--port", "0",
                          "--database", f"sqlite://{tmp_path}/x.db"], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, HEALTHHUB_MASTER_KEY=base64.b64encode(os.urandom(32)).decode()))
    assert res.returncode != 0
    assert "HEALTHHUB_ALLOWED_HOSTS" in res.stderr + res.stdout


def test_the_shipped_binary_has_no_gateway_bypass(tmp_path):
    """The benchmarks' bypass exists only in the benchmark flavour (bench/build-benchmark)."""
    res = subprocess.run([os.environ["HEALTHHUB_BIN"], "serve", "--port", "0", "--database", f"sqlite://{tmp_path}/x.db"],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, HEALTHHUB_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(), HEALTHHUB_BENCHMARK_NO_GATEWAY="1"))
    assert res.returncode != 0
    assert "needs a benchmark build" in res.stderr + res.stdout
    assert "ready at" not in res.stdout


def raw_host(root: str, request_line: str, host: str, headers: dict[str, str] | None = None, body: bytes = b"") -> tuple[int, bytes]:
    """Like raw_request, with the Host header given."""
    parts = urllib.parse.urlsplit(root)
    head = [request_line, f"Host: {host}", "Connection: close"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        head.append(f"Content-Length: {len(body)}")
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    return int(answer.split(b"\r\n", 1)[0].split(b" ")[1]), answer
