"""Operations seen from outside: /metrics read by the Prometheus client library's own parser, an
alarm firing end to end into a local webhook receiver, `healthhub alarms` beside the server,
the public status API, and the WAF file reloaded on SIGHUP."""

from __future__ import annotations

import http.server
import json
import signal
import threading
import time

from prometheus_client.parser import text_string_to_metric_families


def wait_for(predicate, timeout=30.0, step=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that keeps every JSON body posted to it."""
    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        Receiver.received.append({"content_type": self.headers.get("Content-Type"), "body": json.loads(self.rfile.read(length))})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_metrics_parse_with_the_prometheus_client_and_count_what_happened(hh):
    expect_ok = hh.get("metadata")
    assert expect_ok.status_code == 200
    blocked = hh.session.get(hh.base + "/Patient", params={"name": "' or '1'='1"}, timeout=30)
    assert blocked.status_code == 403
    text = hh.session.get(hh.root + "/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # the client library names counters without _total and histograms by their base name
    requests_total = families["healthhub_http_requests"]
    assert requests_total.type == "counter"
    metadata = [s for s in requests_total.samples if s.labels.get("route") == "/fhir/metadata" and s.labels.get("status_class") == "2xx"]
    assert metadata and metadata[0].value >= 1
    duration = families["healthhub_http_request_duration_seconds"]
    assert duration.type == "histogram"
    assert any(s.name.endswith("_bucket") and s.labels.get("le") == "0.2" for s in duration.samples)
    blocks = [s for s in families["healthhub_waf_blocks"].samples if s.labels.get("rule") == "sqli-tautology"]
    assert blocks and blocks[0].value >= 1
    for gauge in ("healthhub_http_requests_in_flight", "healthhub_db_pool_size", "healthhub_process_start_time_seconds"):
        assert families[gauge].type == "gauge", gauge


def test_an_alarm_fires_into_the_webhook_and_the_cli_lists_it(server_factory):
    Receiver.received = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        server = server_factory({
            "HEALTHHUB_ALARM_WEBHOOK": f"http://127.0.0.1:{httpd.server_address[1]}/hook",
            "HEALTHHUB_ALARM_INTERVAL": "1",
            "HEALTHHUB_INSTANCE": "interop-node",
            "HEALTHHUB_RATE_LIMIT_IP": "100000/100000",
        })
        # more than 50 WAF blocks in 5 minutes: WAFBlockSpike fires at the next evaluation
        for _ in range(55):
            assert server.session.get(server.root + "/fhir/metadata", params={"q": "<script>x</script>"}, timeout=10).status_code == 403
        got = wait_for(lambda: [r for r in Receiver.received if r["body"]["alarm"] == "WAFBlockSpike"], timeout=30)
        assert got, f"no webhook call; received {Receiver.received}\n{server.stderr_tail()}"
        note = got[0]
        assert note["content_type"] == "application/json"
        assert note["body"]["status"] == "firing"
        assert note["body"]["severity"] == "ticket"
        assert note["body"]["instance"] == "interop-node"
        assert note["body"]["value"] >= 51

        listed = json.loads(server.cli("alarms", "list", "--json"))
        mine = {a["alarm"]["name"]: a["alarm"] for a in listed["alarms"] if a["instance"] == "interop-node"}
        assert len(mine) == 22
        assert mine["WAFBlockSpike"]["state"] == "firing"
        assert mine["BackupStale"]["noData"] is True
        out = server.cli("alarms", "silence", "--alarm", "WAFBlockSpike", "--minutes", "30", "--reason", "pen test")
        assert out.startswith("silence ")
        listed = json.loads(server.cli("alarms", "list", "--json"))
        assert [s["matcher"] for s in listed["silences"]] == ["WAFBlockSpike"]
        history = server.cli("alarms", "history", "--alarm", "WAFBlockSpike")
        assert "ok -> pending" in history and "pending -> firing" in history

        def components():
            status = server.session.get(server.root + "/api/status", timeout=10)
            assert status.status_code == 200
            body = status.json()
            assert body["status"] == "operational"
            return {c["name"]: c["status"] for c in body["components"]}
        # the audit chain is verified in the background at start; its result follows shortly
        assert wait_for(lambda: components()["audit"] == "up", timeout=20), components()
        assert components() == {"api": "up", "database": "up", "storage": "up", "audit": "up"}
    finally:
        httpd.shutdown()


def test_the_waf_file_is_reloaded_on_sighup_and_a_bad_file_changes_nothing(server_factory, tmp_path):
    waf_file = tmp_path / "waf.json"

    def rules(pattern: str) -> str:
        return json.dumps({"rules": [{"id": "site-probe", "group": "site", "action": "block", "patterns": [pattern], "targets": ["query"]}]})

    waf_file.write_text(rules("first-probe"))
    server = server_factory({"HEALTHHUB_WAF_FILE": str(waf_file)})

    def status(pattern: str) -> int:
        return server.session.get(server.root + "/fhir/metadata", params={"q": pattern}, timeout=10).status_code

    assert status("first-probe") == 403
    assert status("second-probe") == 200
    waf_file.write_text(rules("second-probe"))
    server.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: status("second-probe") == 403, timeout=10), server.stderr_tail()
    assert status("first-probe") == 200
    waf_file.write_text("{ not json")
    server.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "waf reload refused" in server.stderr_tail(), timeout=10), server.stderr_tail()
    assert status("second-probe") == 403
    assert server.proc.poll() is None  # still serving
