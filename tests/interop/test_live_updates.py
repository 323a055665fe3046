"""Live updates over WebSocket (`/live`) against a real `healthhub serve`: the socket needs a
signed-in session and this server's Origin, carries only the events about records the person
may see, and replays what a reconnecting client missed. Also measures message delivery
latency (write through the API -> event on the socket)."""

from __future__ import annotations

import json
import re
import statistics
import time

import pytest
import requests
import websocket  # websocket-client

from conftest import HealthHubServer
from test_pages_browser import credentials

MESSAGE_SYSTEM = "https://healthhub.dev/fhir/CodeSystem/message-type"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live_site(request, tmp_path_factory):
    server = HealthHubServer(request.param, tmp_path_factory.mktemp(f"hhl-{request.param}"))
    server.prepare_database()
    server.cli("demo", "--patients", "3")
    server.env_extra = {"HEALTHHUB_GEO": "off"}
    server.start()
    yield server, credentials(server)
    server.stop()
    server.drop_database()


def sign_in(server, email: str, password: str) -> str:
    s = requests.Session()
    page = s.get(server.root + "/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    s.post(server.root + "/login", data={"email": email, "password": password, "csrf": csrf, "next": "/login"}, timeout=30)
    return s.cookies["hh_session"]


def socket(server, cookie: str | None, origin: str | None, after: int | None = None):
    url = server.root.replace("http://", "ws://") + "/live" + (f"?after={after}" if after is not None else "")
    headers = [f"Cookie: hh_session={cookie}"] if cookie else []
    return websocket.create_connection(url, header=headers, origin=origin, timeout=15, suppress_origin=origin is None)


def message(server, patient: str, practitioner: str, text: str) -> str:
    body = {
        "resourceType": "Communication", "status": "completed",
        "category": [{"coding": [{"system": MESSAGE_SYSTEM, "code": "general"}]}],
        "subject": {"reference": patient}, "sender": {"reference": practitioner}, "recipient": [{"reference": patient}],
        "topic": {"text": "Results"}, "payload": [{"contentString": text}],
    }
    reply = server.post("Communication", body)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def test_the_socket_needs_a_session_and_this_origin(live_site):
    server, creds = live_site
    cookie = sign_in(server, creds["patient"]["email"], creds["patient"]["password"])
    for c, origin in [(None, server.root), ("made-up", server.root), (cookie, "https://evil.example"), (cookie, None)]:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            socket(server, c, origin)
        assert refused.value.status_code in (400, 403), (c, origin)  # (the upgrade is refused before any socket exists)


def test_events_of_the_patients_own_record_arrive_live_and_are_replayed(live_site):
    server, creds = live_site
    me = creds["patient"]["link"]
    gp = creds["practitioner"]["link"]
    others = [e["resource"]["id"] for e in server.get("Patient?_count=10").json()["entry"] if f"Patient/{e['resource']['id']}" != me]
    cookie = sign_in(server, creds["patient"]["email"], creds["patient"]["password"])
    ws = socket(server, cookie, server.root)
    # another patient's message is not sent; the patient's own is, within moments
    message(server, f"Patient/{others[0]}", gp, "not yours")
    latencies = []
    last = 0
    for n in range(20):
        started = time.monotonic()
        mid = message(server, me, gp, f"message {n}")
        event = json.loads(ws.recv())
        latencies.append((time.monotonic() - started) * 1000)
        assert event["topic"] == "message.new" and event["subject"] == f"Communication/{mid}"
        assert event["seq"] > last
        last = event["seq"]
    ws.close()
    # missed while disconnected: replayed on reconnect with ?after=
    missed = [message(server, me, gp, "while you were away") for _ in range(3)]
    ws = socket(server, cookie, server.root, after=last)
    replayed = [json.loads(ws.recv()) for _ in range(3)]
    assert [e["subject"] for e in replayed] == [f"Communication/{m}" for m in missed]
    ws.close()
    latencies.sort()
    print(f"\nmessage delivery over WebSocket ({server.kind}): p50 {statistics.median(latencies):.0f} ms, "
          f"max {latencies[-1]:.0f} ms over {len(latencies)} messages")
    assert latencies[len(latencies) // 2] < 1000


def test_signing_out_closes_the_socket(live_site):
    server, creds = live_site
    s = requests.Session()
    page = s.get(server.root + "/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    home = s.post(server.root + "/login", data={"email": creds["patient"]["email"], "password": creds["patient"]["password"], "csrf": csrf}, timeout=30)
    ws = socket(server, s.cookies["hh_session"], server.root)
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    s.post(server.root + "/logout", data={"csrf": csrf}, timeout=30)
    # (the socket re-checks its session every minute; a new one is refused at once)
    with pytest.raises(websocket.WebSocketBadStatusException):
        socket(server, s.cookies.get("hh_session") or "gone", server.root)
    ws.close()


def form_post(session: requests.Session, server, page: str, action: str, fields: dict) -> requests.Response:
    """Posts a page's form with the CSRF token of that page (and this server's Origin)."""
    html = session.get(server.root + page, timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    return session.post(server.root + action, data={"csrf": csrf, **fields}, headers={"Origin": server.root}, allow_redirects=False, timeout=30)


def test_a_proxy_whose_access_was_taken_back_hears_no_more_of_that_patient(live_site):
    server, creds = live_site
    me, gp = creds["patient"]["link"], creds["practitioner"]["link"]
    other = next(f"Patient/{e['resource']['id']}" for e in server.get("Patient?_count=10").json()["entry"] if f"Patient/{e['resource']['id']}" != me)
    email = f"live.proxy.{server.kind}@example.org"
    server.cli("users", "create", "--role", "patient", "--email", email, "--patient", other, "--password-stdin", stdin="ember-quartz-6614-meadow\n")
    patient = requests.Session()
    patient.cookies.set("hh_session", sign_in(server, creds["patient"]["email"], creds["patient"]["password"]))
    given = form_post(patient, server, "/portal/proxies", "/portal/proxies", {"name": "Live Proxy", "email": email, "relationship": "FRND"})
    assert given.status_code == 303, given.text
    proxy = requests.Session()
    proxy.cookies.set("hh_session", sign_in(server, email, "ember-quartz-6614-meadow"))
    switched = form_post(proxy, server, "/portal/switch", "/portal/switch", {"patient": me.split("/")[1]})
    assert switched.status_code == 303
    ws = socket(server, proxy.cookies["hh_session"], server.root)
    heard = message(server, me, gp, "for the record you act for")
    assert json.loads(ws.recv())["subject"] == f"Communication/{heard}"
    # taken back: the next event of that record is not sent (a second on, when the socket looks again)
    proxies = patient.get(server.root + "/portal/proxies", timeout=30).text
    revoke = re.search(r'action="(/portal/proxies/[^"/]+/revoke)"', proxies).group(1)
    assert form_post(patient, server, "/portal/proxies", revoke, {}).status_code == 303
    time.sleep(1.2)
    message(server, me, gp, "not for the proxy any more")
    time.sleep(0.5)  # (the socket looks again at that event, and hears the proxy's own record from then on)
    own = message(server, other, gp, "for the proxy's own record")
    assert json.loads(ws.recv())["subject"] == f"Communication/{own}"
    ws.close()
