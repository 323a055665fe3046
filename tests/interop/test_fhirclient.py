"""The SMART on FHIR Python client (fhirclient 4.4.0, models from R4 4.0.1) drives HealthHub.

fhirclient's models are strict: reading a resource with an element the R4 model does not know, or
without a required element, raises FHIRValidationError. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import warnings

import pytest
from fhirclient import client
from fhirclient.models.bundle import Bundle
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.codeableconcept import CodeableConcept
from fhirclient.models.coding import Coding
from fhirclient.models.contactpoint import ContactPoint
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.fhirreference import FHIRReference
from fhirclient.models.humanname import HumanName
from fhirclient.models.identifier import Identifier
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.models.quantity import Quantity

from hhinterop import unique_word


@pytest.fixture(scope="module")
def smart(hh):
    smart = client.FHIRClient(settings={"app_id": "interop", "api_base": hh.base + "/"})
    smart.server.session.auth = hh.auth  # the backend token of the fixture; fhirclient sends it with every request
    return smart


def _patient(family: str, given: str, mrn: str) -> Patient:
    p = Patient()
    name = HumanName()
    name.family = family
    name.given = [given]
    name.use = "official"
    p.name = [name]
    ident = Identifier()
    ident.system = "urn:oid:1.2.36.146.595.217.0.1"
    ident.value = mrn
    p.identifier = [ident]
    phone = ContactPoint()
    phone.system = "phone"
    phone.value = "+1 555 0100"
    phone.use = "work"
    p.telecom = [phone]
    p.gender = "male"
    p.birthDate = FHIRDate("1971-11-30")
    p.active = True
    return p


def test_capability_statement_parses_in_fhirclient(smart):
    cs = smart.server.capabilityStatement
    assert isinstance(cs, CapabilityStatement)
    assert cs.fhirVersion == "4.0.1"
    types = {r.type for r in cs.rest[0].resource}
    assert {"Patient", "Observation"} <= types


def test_create_read_search_patient(smart):
    family = unique_word("Zz")
    mrn = "MRN-" + unique_word("", 8)
    created = _patient(family, "Alan", mrn).create(smart.server)
    # fhirclient 4.4.0 returns the response JSON (the server's representation) and does not set id.
    assert isinstance(created, dict), "POST returned no body (server must default to Prefer: return=representation)"
    assert created["resourceType"] == "Patient"
    assert created["meta"]["versionId"] == "1"
    pid = created["id"]

    read = Patient.read(pid, smart.server)
    assert read.id == pid
    assert read.meta.versionId == "1"
    assert read.name[0].family == family
    assert read.name[0].given == ["Alan"]
    assert read.identifier[0].value == mrn
    assert read.gender == "male"
    assert read.birthDate.isostring == "1971-11-30"
    assert read.active is True

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        found = Patient.where(struct={"family": family}).perform_resources(smart.server)
    assert [p.id for p in found] == [pid]
    assert found[0].name[0].family == family

    search = Patient.where(struct={"identifier": f"urn:oid:1.2.36.146.595.217.0.1|{mrn}"})
    bundle = next(iter(search.perform_iter(smart.server)))
    assert isinstance(bundle, Bundle)
    assert bundle.type == "searchset"
    assert bundle.total == 1
    assert bundle.entry[0].resource.id == pid


def test_search_pages_through_next_links(smart):
    family = unique_word("Zz")
    ids = set()
    for i in range(3):
        created = _patient(family, f"Given{i}", f"MRN-P{i}-" + unique_word("", 6)).create(smart.server)
        ids.add(created["id"])
    # _count=2 forces a second page; fhirclient follows the absolute `next` link itself.
    # The total of a result larger than a page is counted only on request (_total=accurate).
    pages = list(Patient.where(struct={"family": family, "_count": "2", "_total": "accurate"}).perform_iter(smart.server))
    assert len(pages) == 2
    assert [len(p.entry) for p in pages] == [2, 1]
    assert all(p.total == 3 for p in pages)
    assert {e.resource.id for p in pages for e in p.entry} == ids


def test_update_and_observation_with_reference(smart):
    family = unique_word("Zz")
    created = _patient(family, "Grace", "MRN-" + unique_word("", 8)).create(smart.server)
    pid = created["id"]

    p = Patient.read(pid, smart.server)
    p.gender = "female"
    updated = p.update(smart.server)
    assert updated["meta"]["versionId"] == "2"
    again = Patient.read(pid, smart.server)
    assert again.gender == "female"
    assert again.meta.versionId == "2"

    obs = Observation()
    obs.status = "final"
    coding = Coding()
    coding.system = "http://loinc.org"
    coding.code = "8867-4"
    coding.display = "Heart rate"
    obs.code = CodeableConcept()
    obs.code.coding = [coding]
    obs.subject = FHIRReference()
    obs.subject.reference = f"Patient/{pid}"
    obs.valueQuantity = Quantity()
    obs.valueQuantity.value = 58
    obs.valueQuantity.unit = "beats/minute"
    obs.valueQuantity.system = "http://unitsofmeasure.org"
    obs.valueQuantity.code = "/min"
    made = obs.create(smart.server)
    oid = made["id"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        found = Observation.where(
            struct={"patient": pid, "code": "http://loinc.org|8867-4"}
        ).perform_resources(smart.server)
    assert [o.id for o in found] == [oid]
    assert found[0].valueQuantity.value == 58
    assert found[0].subject.reference == f"Patient/{pid}"
