"""Server lifecycle seen from outside: ready line, /health, graceful SIGTERM, data kept across restarts."""

from __future__ import annotations

import fhir_samples as S
from hhinterop import expect, parse, unique_word


def test_health_sigterm_and_restart_keeps_data(server_factory):
    first = server_factory()
    health = first.session.get(first.root + "/health", timeout=10)
    expect(health, 200)
    assert health.json() == {"status": "ok"}

    family = unique_word("Restart")
    created = first.post("Patient", S.patient(family))
    expect(created, 201)
    pid = created.json()["id"]

    status = first.stop()
    assert status == 0, f"exit status after SIGTERM: {status}\n{first.stderr_tail()}"

    second = server_factory()  # same database, same master key
    again = second.get(f"Patient/{pid}")
    expect(again, 200)
    body, model = parse(again, "Patient")
    assert model.name[0].family == family
    assert model.meta.versionId == "1"
    found = second.get("Patient", params={"family": family})
    _, bundle = parse(found, "Bundle")
    assert bundle.total == 1
    assert second.stop() == 0
