"""Everything HealthHub returns must parse with fhir.resources 6.4.0, a strict independent R4 model.

Runs against SQLite and PostgreSQL (the `hh` fixture in conftest.py). Each module run creates its
own resources with unique names, so searches are exact and tests never see another run's rows.
"""

from __future__ import annotations

import json
import secrets

import pytest

import fhir_samples as S
from hhinterop import expect, issue_text, location_id, parse, unique_word

# Creation order (later resources reference earlier ones).
TYPES = [
    ("patient", "Patient"),
    ("practitioner", "Practitioner"),
    ("organization", "Organization"),
    ("encounter", "Encounter"),
    ("heart_rate", "Observation"),
    ("blood_pressure", "Observation"),
    ("condition", "Condition"),
    ("medication_request", "MedicationRequest"),
    ("allergy", "AllergyIntolerance"),
    ("immunization", "Immunization"),
]


@pytest.fixture(scope="module")
def world(hh):
    """POST one realistic resource of each type; keep what was sent and what came back."""
    family = unique_word("Interop")
    out: dict[str, dict] = {"_family": family}

    def create(key, resource):
        resp = hh.post(resource["resourceType"], resource)
        rid = None
        if resp.status_code == 201:
            try:
                rid = resp.json().get("id")
            except ValueError:
                rid = None
        out[key] = {"sent": resource, "resp": resp, "id": rid}
        assert rid, f"create {resource['resourceType']} failed: {resp.status_code} {resp.text[:1000]}"
        return rid

    pid = create("patient", S.patient(family))
    prid = create("practitioner", S.practitioner(unique_word("Doc")))
    oid = create("organization", S.organization("Interop Clinic " + family))
    eid = create("encounter", S.encounter(pid, prid, oid))
    create("heart_rate", S.heart_rate(pid, eid))
    create("blood_pressure", S.blood_pressure(pid, eid))
    cid = create("condition", S.condition(pid, eid))
    create("medication_request", S.medication_request(pid, eid, prid, cid))
    create("allergy", S.allergy(pid))
    create("immunization", S.immunization(pid, eid, prid))
    return out


@pytest.mark.parametrize("key,rtype", TYPES, ids=[k for k, _ in TYPES])
def test_create_returns_201_with_location_etag_and_body(hh, world, key, rtype):
    entry = world[key]
    resp = entry["resp"]
    expect(resp, 201)
    assert resp.headers.get("ETag") == 'W/"1"'
    body, model = parse(resp, rtype)
    rid, vid = location_id(resp, rtype, hh.base)
    assert rid == body["id"] == model.id
    assert vid in (None, "1")
    assert body["meta"]["versionId"] == "1"
    assert model.meta.lastUpdated is not None
    for k, v in entry["sent"].items():
        assert body[k] == v, f"{rtype}.{k} came back as {body.get(k)!r}, sent {v!r}"


@pytest.mark.parametrize("key,rtype", TYPES, ids=[k for k, _ in TYPES])
def test_read_back_each_type(hh, world, key, rtype):
    entry = world[key]
    resp = hh.get(f"{rtype}/{entry['id']}")
    expect(resp, 200)
    assert resp.headers.get("ETag") == 'W/"1"'
    body, model = parse(resp, rtype)
    assert model.id == entry["id"]
    assert model.meta.versionId == "1"
    for k, v in entry["sent"].items():
        assert body[k] == v, f"{rtype}.{k} read back as {body.get(k)!r}, sent {v!r}"


def test_read_back_values_through_the_model(hh, world):
    _, pat = parse(hh.get(f"Patient/{world['patient']['id']}"), "Patient")
    assert pat.name[0].family == world["_family"]
    assert pat.gender == "female"
    assert pat.birthDate.isoformat() == "1984-03-12"
    _, hr = parse(hh.get(f"Observation/{world['heart_rate']['id']}"), "Observation")
    assert hr.code.coding[0].code == "8867-4"
    assert float(hr.valueQuantity.value) == 72
    assert hr.valueQuantity.code == "/min"
    assert hr.subject.reference == f"Patient/{world['patient']['id']}"
    _, bp = parse(hh.get(f"Observation/{world['blood_pressure']['id']}"), "Observation")
    assert [c.code.coding[0].code for c in bp.component] == ["8480-6", "8462-4"]
    assert float(bp.component[0].valueQuantity.value) == 121.5
    assert float(bp.component[1].valueQuantity.value) == 79


def test_metadata_is_a_capability_statement(hh):
    resp = hh.get("metadata")
    expect(resp, 200)
    body, cs = parse(resp, "CapabilityStatement")
    assert cs.fhirVersion == "4.0.1"
    assert cs.kind == "instance"
    assert any(f in ("json", "application/fhir+json") for f in cs.format)
    server = [r for r in cs.rest if r.mode == "server"]
    assert len(server) == 1
    by_type = {r.type: r for r in server[0].resource}
    for _, rtype in TYPES:
        assert rtype in by_type, f"{rtype} missing from CapabilityStatement"
    patient_interactions = {i.code for i in by_type["Patient"].interaction}
    assert {"read", "vread", "create", "update", "delete", "history-instance", "search-type"} <= patient_interactions
    search_params = {p.name for p in (by_type["Patient"].searchParam or [])}
    assert {"family", "identifier", "birthdate"} <= search_params


def test_search_patient_by_family(hh, world):
    resp = hh.get("Patient", params={"family": world["_family"]})
    expect(resp, 200)
    body, bundle = parse(resp, "Bundle")
    assert bundle.type == "searchset"
    assert bundle.total == 1
    assert len(bundle.entry) == 1
    e = bundle.entry[0]
    assert e.resource.resource_type == "Patient"
    assert e.resource.id == world["patient"]["id"]
    assert e.fullUrl.endswith(f"/Patient/{world['patient']['id']}")
    if e.search is not None:
        assert e.search.mode == "match"
    assert any(link.relation == "self" for link in bundle.link)


def test_search_observations_by_patient_and_code(hh, world):
    pid = world["patient"]["id"]
    resp = hh.get("Observation", params={"patient": pid, "code": "http://loinc.org|8867-4"})
    expect(resp, 200)
    _, bundle = parse(resp, "Bundle")
    assert bundle.total == 1
    assert [e.resource.id for e in bundle.entry] == [world["heart_rate"]["id"]]

    resp = hh.get("Observation", params={"subject": f"Patient/{pid}"})
    _, bundle = parse(resp, "Bundle")
    assert bundle.total == 2
    assert {e.resource.id for e in bundle.entry} == {world["heart_rate"]["id"], world["blood_pressure"]["id"]}


def test_search_paging_with_next_and_previous_links(hh, world):
    pid = world["patient"]["id"]
    # The total of a result larger than a page is counted only on request (_total=accurate).
    resp = hh.get("Observation", params={"patient": pid, "_count": "1", "_total": "accurate"})
    expect(resp, 200)
    _, page1 = parse(resp, "Bundle")
    assert page1.total == 2
    assert len(page1.entry) == 1
    links1 = {link.relation: link.url for link in page1.link}
    assert "next" in links1, links1
    resp2 = hh.session.get(links1["next"], timeout=30)
    expect(resp2, 200)
    _, page2 = parse(resp2, "Bundle")
    assert page2.total == 2
    assert len(page2.entry) == 1
    links2 = {link.relation: link.url for link in page2.link}
    assert "previous" in links2 or "prev" in links2, links2
    assert "next" not in links2, links2
    ids = {page1.entry[0].resource.id, page2.entry[0].resource.id}
    assert ids == {world["heart_rate"]["id"], world["blood_pressure"]["id"]}


def test_update_vread_and_history(hh):
    family = unique_word("Hist")
    sent = S.patient(family)
    created = hh.post("Patient", sent)
    expect(created, 201)
    v1, _ = parse(created, "Patient")
    pid = v1["id"]

    v2_body = dict(v1)
    v2_body.pop("meta", None)
    v2_body["telecom"] = v1["telecom"] + [{"system": "phone", "value": "+44 20 7946 0999", "use": "home"}]
    updated = hh.put(f"Patient/{pid}", v2_body)
    expect(updated, 200)
    assert updated.headers.get("ETag") == 'W/"2"'
    v2, m2 = parse(updated, "Patient")
    assert m2.id == pid and m2.meta.versionId == "2"
    assert len(v2["telecom"]) == 3

    cur = hh.get(f"Patient/{pid}")
    expect(cur, 200)
    assert cur.headers.get("ETag") == 'W/"2"'
    assert parse(cur, "Patient")[1].meta.versionId == "2"

    old = hh.get(f"Patient/{pid}/_history/1")
    expect(old, 200)
    old_body, old_model = parse(old, "Patient")
    assert old_model.meta.versionId == "1"
    assert len(old_body["telecom"]) == 2

    hist = hh.get(f"Patient/{pid}/_history")
    expect(hist, 200)
    _, bundle = parse(hist, "Bundle")
    assert bundle.type == "history"
    if bundle.total is not None:
        assert bundle.total == 2
    # Newest version first (R4 3.1.0.9: "sorted with oldest versions last").
    assert [e.resource.meta.versionId for e in bundle.entry] == ["2", "1"]
    assert all(e.resource.id == pid for e in bundle.entry)


def test_transaction_resolves_urn_uuid_references(hh):
    family = unique_word("Txn")
    pat_urn = "urn:uuid:" + "4b1c3f52-0d5e-4a8b-9b6a-" + secrets.token_hex(6)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": pat_urn, "resource": S.patient(family),
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": "urn:uuid:9d3e2a71-1f4c-4e0b-8c2d-" + secrets.token_hex(6),
             "resource": {**S.heart_rate("PLACEHOLDER", value=64), "subject": {"reference": pat_urn}},
             "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    resp = hh.post("", bundle)
    expect(resp, 200)
    _, result = parse(resp, "Bundle")
    assert result.type == "transaction-response"
    assert len(result.entry) == 2
    locations = []
    for e, rtype in zip(result.entry, ["Patient", "Observation"]):
        assert e.response.status.startswith("201"), e.response.status
        assert rtype + "/" in e.response.location
        locations.append(e.response.location)
    pid = locations[0].split("Patient/")[1].split("/")[0]
    oid = locations[1].split("Observation/")[1].split("/")[0]

    obs = hh.get(f"Observation/{oid}")
    expect(obs, 200)
    _, model = parse(obs, "Observation")
    assert model.subject.reference == f"Patient/{pid}"
    assert float(model.valueQuantity.value) == 64

    found = hh.get("Patient", params={"family": family})
    _, b = parse(found, "Bundle")
    assert b.total == 1 and b.entry[0].resource.id == pid


def test_read_unknown_id_is_404_operation_outcome(hh):
    resp = hh.get(f"Patient/does-not-exist-{secrets.token_hex(4)}")
    expect(resp, 404)
    _, oo = parse(resp, "OperationOutcome")
    assert oo.issue[0].severity in ("error", "fatal")
    assert oo.issue[0].code == "not-found"


def test_invalid_resource_is_422_naming_the_path_and_nothing_is_stored(hh):
    family = unique_word("Bad")
    bad = S.patient(family, birth_date="not-a-date")
    resp = hh.post("Patient", bad)
    expect(resp, 422)
    body, oo = parse(resp, "OperationOutcome")
    assert oo.issue[0].severity in ("error", "fatal")
    assert "birthDate" in issue_text(body), body
    found = hh.get("Patient", params={"family": family})
    expect(found, 200)
    _, bundle = parse(found, "Bundle")
    assert bundle.total == 0
    assert not bundle.entry


def test_malformed_json_is_400_operation_outcome(hh):
    resp = hh.post("Patient", data='{"resourceType": "Patient", "name": [{"family": "Broken"')
    expect(resp, 400)
    _, oo = parse(resp, "OperationOutcome")
    assert oo.issue[0].severity in ("error", "fatal")


def test_delete_then_read_is_410_gone(hh):
    created = hh.post("Organization", S.organization("Short-lived " + unique_word()))
    expect(created, 201)
    oid = created.json()["id"]
    resp = hh.delete(f"Organization/{oid}")
    assert resp.status_code in (200, 204), resp.text
    if resp.status_code == 200 and resp.content:
        parse(resp)
    gone = hh.get(f"Organization/{oid}")
    expect(gone, 410)
    if gone.content:
        parse(gone, "OperationOutcome")


def test_samples_are_valid_r4():
    # Guard against the samples themselves drifting from R4: they must parse before we send them.
    from fhir.resources import construct_fhir_element
    samples = [
        S.patient("Check"), S.practitioner("Check"), S.organization("Check"),
        S.encounter("p1", "pr1", "o1"), S.heart_rate("p1", "e1"), S.blood_pressure("p1", "e1"),
        S.condition("p1", "e1"), S.medication_request("p1", "e1", "pr1", "c1"),
        S.allergy("p1"), S.immunization("p1", "e1", "pr1"),
    ]
    assert [s["resourceType"] for s in samples] == [t for _, t in TYPES]
    for sample in samples:
        construct_fhir_element(sample["resourceType"], json.loads(json.dumps(sample)))
