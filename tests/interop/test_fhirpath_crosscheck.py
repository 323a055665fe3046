"""Cross-check HealthHub's FHIRPath subset evaluator against fhirpathpy (an independent implementation).

For every realistic resource below and every official R4 SearchParameter expression (from
Sources/FHIR/Definitions/search-parameters.json) whose base includes the resource's type (or is
Resource / DomainResource), both evaluators must give the same result collection. Expressions with
`resolve()`, `extension(` or `hasExtension(` are left out: fhirpathpy cannot resolve references and
the R4 model has no extension-by-url search data here.

HealthHub side: `$HEALTHHUB_BIN fhirpath --expression E1 --expression E2 ... FILE.json` prints one
JSON array (the result values, in order) per line, one line per expression.

Needs no server and no database, so it does not use the `hh` fixture and runs once.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

fhirpathpy = pytest.importorskip(
    "fhirpathpy", reason="fhirpathpy is not installed (scripts/test installs tests/interop/requirements.txt)"
)
from fhirpathpy.models import models as FHIRPATHPY_MODELS  # noqa: E402

HEALTHHUB_BIN = os.environ.get("HEALTHHUB_BIN", "")
if not HEALTHHUB_BIN:
    pytest.skip(
        "HEALTHHUB_BIN is not set: run scripts/test, or build and export "
        "HEALTHHUB_BIN=$PWD/.build/release/healthhub",
        allow_module_level=True,
    )

ROOT = Path(__file__).resolve().parents[2]
SEARCH_PARAMETERS = ROOT / "Sources" / "FHIR" / "Definitions" / "search-parameters.json"
R4 = FHIRPATHPY_MODELS["r4"]

# The cross-check must not pass vacuously.
MIN_PAIRS = 150
MIN_NON_EMPTY = 100

# Expressions fhirpathpy cannot evaluate: no reference resolution, no extension data to compare.
EXCLUDED_FRAGMENTS = ("resolve()", "extension(", "hasExtension(")

# ---------------------------------------------------------------------------------------------
# Known, deliberate differences from fhirpathpy 2.2.4 (both are about FHIRPath-spec strictness).
# Each is handled by rewriting the expression for fhirpathpy only; HealthHub always gets the
# official text.
#
# 1. `Resource.x` / `DomainResource.x`: a leading type name is a type filter on the context, and a
#    Patient *is* a Resource, so HealthHub selects the root (needed for `Resource.meta.lastUpdated`
#    and friends). fhirpathpy only matches the exact type name and returns empty. For fhirpathpy we
#    replace the leading `Resource.` / `DomainResource.` with the concrete resource type.
LEADING_ABSTRACT_TYPE = re.compile(r"(?<![\w.`])(?:DomainResource|Resource)\.")
#
# 2. `X as T` with more than one item in X: the N1 spec makes `as` an error on a collection, and
#    fhirpathpy raises "Expected singleton on left side of 'as'". The R4 SearchParameter expressions
#    rely on it filtering (`(Observation.component.value as Quantity)`), as the reference Java
#    engine does, so HealthHub filters like `ofType(T)`. When fhirpathpy raises that error we
#    re-evaluate `(X as T)` rewritten to `(X).ofType(T)`.
PAREN_AS = re.compile(r"\(([^()]+?) as (\w+)\)")
# ---------------------------------------------------------------------------------------------

META = {
    "versionId": "3",
    "lastUpdated": "2024-05-02T09:30:00.123+00:00",
    "source": "http://example.org/fhir/source#a1b2",
    "profile": ["http://example.org/fhir/StructureDefinition/profile-a"],
    "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}],
    "tag": [{"system": "http://example.org/tags", "code": "interop"}],
}

RESOURCES: list[dict] = [
    {
        "resourceType": "Patient",
        "id": "pat-1",
        "meta": META,
        "identifier": [
            {"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
             "system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "444-22-1234"},
        ],
        "active": True,
        "name": [
            {"use": "official", "family": "Chalmers", "given": ["Peter", "James"], "prefix": ["Mr."]},
            {"use": "usual", "given": ["Jim"]},
            {"use": "maiden", "family": "Windsor", "given": ["Peter", "James"],
             "period": {"end": "2002"}},
        ],
        "telecom": [
            {"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1},
            {"system": "phone", "value": "(03) 3410 5613", "use": "mobile", "rank": 2},
            {"system": "email", "value": "peter.chalmers@example.org", "use": "home"},
        ],
        "gender": "male",
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                      "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "deceasedBoolean": False,
        "address": [{"use": "home", "type": "both", "text": "534 Erewhon St PeasantVille, Rainbow, Vic  3999",
                     "line": ["534 Erewhon St"], "city": "PleasantVille", "district": "Rainbow",
                     "state": "Vic", "postalCode": "3999", "country": "AU",
                     "period": {"start": "1974-12-25"}}],
        "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]},
        "multipleBirthInteger": 1,
        "contact": [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}],
                     "name": {"family": "du Marché", "given": ["Bénédicte"]},
                     "telecom": [{"system": "phone", "value": "+33 (237) 998327"}], "gender": "female"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-AU"}]}, "preferred": True}],
        "generalPractitioner": [{"reference": "Practitioner/prac-1"}],
        "managingOrganization": {"reference": "Organization/org-1", "display": "Gastroenterology"},
        "link": [{"other": {"reference": "Patient/pat-2"}, "type": "seealso"}],
    },
    {
        "resourceType": "Patient",
        "id": "pat-2",
        "name": [{"family": "Windsor", "given": ["Anne"]}],
        "gender": "female",
        "birthDate": "1950-08-15",
        "deceasedDateTime": "2021-03-04T10:00:00+01:00",
        "telecom": [{"system": "email", "value": "anne@example.org"}, {"system": "email", "value": "anne@example.org"}],
        "address": [{"city": "Windsor", "country": "GB"}, {"city": "London", "country": "GB"}],
    },
    {
        "resourceType": "Observation",
        "id": "bp-1",
        "meta": {"lastUpdated": "2024-05-02T10:00:00Z"},
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281"}],
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9",
                             "display": "Blood pressure panel with all children optional"}],
                 "text": "Blood pressure systolic & diastolic"},
        "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"},
        "effectiveDateTime": "2024-05-01T09:30:10+01:00",
        "issued": "2024-05-01T10:30:10.000+01:00",
        "performer": [{"reference": "Practitioner/prac-1"}],
        "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "L"}]}],
        "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "368209003", "display": "Right arm"}]},
        "method": {"text": "auscultation"},
        "device": {"reference": "Device/dev-1"},
        "hasMember": [{"reference": "Observation/hr-1"}],
        "derivedFrom": [{"reference": "Observation/raw-1"}],
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
             "valueQuantity": {"value": 107, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]},
             "valueQuantity": {"value": 60.50, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8478-0", "display": "Mean blood pressure"}]},
             "dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]}},
            {"code": {"text": "Cuff size"}, "valueCodeableConcept": {"text": "adult"}},
        ],
    },
    {
        "resourceType": "Observation",
        "id": "lab-1",
        "status": "amended",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose [Mass/volume] in Blood"}]},
        "subject": {"reference": "Patient/pat-1"},
        "focus": [{"reference": "Condition/cond-1"}],
        "effectivePeriod": {"start": "2024-04-30T08:00:00Z", "end": "2024-04-30T08:15:00Z"},
        "performer": [{"reference": "Organization/org-1"}, {"reference": "Practitioner/prac-1"}],
        "valueQuantity": {"value": 6.30, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L",
                          "comparator": ">"},
        "specimen": {"reference": "Specimen/spec-1"},
        "referenceRange": [{"low": {"value": 3.1, "unit": "mmol/l"}, "high": {"value": 6.2, "unit": "mmol/l"}}],
        "note": [{"text": "Fasting"}],
    },
    {
        "resourceType": "Observation",
        "id": "note-1",
        "status": "preliminary",
        "code": {"text": "Clinical impression"},
        "subject": {"reference": "Patient/pat-2"},
        "effectiveInstant": "2024-02-01T12:00:00.000Z",
        "valueString": "Patient appears comfortable",
        "partOf": [{"reference": "Procedure/proc-1"}],
    },
    {
        "resourceType": "Condition",
        "id": "cond-1",
        "meta": {"lastUpdated": "2024-01-01T00:00:00Z", "tag": [{"system": "http://example.org/tags", "code": "chronic"}]},
        "identifier": [{"system": "http://example.org/conditions", "value": "C-77"}],
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
        "severity": {"coding": [{"system": "http://snomed.info/sct", "code": "24484000", "display": "Severe"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "39065001", "display": "Burn of ear"}], "text": "Burnt Ear"},
        "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "49521004", "display": "Left external ear"}]}],
        "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"},
        "onsetDateTime": "2012-05-24",
        "abatementAge": {"value": 42, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
        "recordedDate": "2013-04-04",
        "recorder": {"reference": "Practitioner/prac-1"},
        "asserter": {"reference": "Practitioner/prac-1"},
        "stage": [{"summary": {"coding": [{"system": "http://snomed.info/sct", "code": "14803004"}]}}],
        "evidence": [{"code": [{"coding": [{"system": "http://snomed.info/sct", "code": "271594007"}]}],
                      "detail": [{"reference": "Observation/lab-1"}]}],
    },
    {
        "resourceType": "Condition",
        "id": "cond-2",
        "code": {"text": "Headache"},
        "subject": {"reference": "Patient/pat-2"},
        "onsetPeriod": {"start": "2023-01-01", "end": "2023-02-01"},
        "abatementString": "resolved after treatment",
    },
    {
        "resourceType": "MedicationRequest",
        "id": "medrx-1",
        "identifier": [{"use": "official", "system": "http://www.bmc.nl/portal/prescriptions", "value": "12345689"}],
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "outpatient"}]}],
        "priority": "routine",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "582620",
                                                  "display": "Nizatidine 15 MG/ML Oral Solution [Axid]"}]},
        "subject": {"reference": "Patient/pat-1", "display": "Peter Chalmers"},
        "encounter": {"reference": "Encounter/enc-1"},
        "authoredOn": "2015-01-15",
        "requester": {"reference": "Practitioner/prac-1"},
        "performer": {"reference": "Practitioner/prac-1"},
        "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "11840006", "display": "Traveller's Diarrhea"}]}],
        "dosageInstruction": [{"sequence": 1, "text": "10 mL bid",
                               "timing": {"repeat": {"boundsPeriod": {"start": "2015-01-15", "end": "2016-01-15"},
                                                     "frequency": 2, "period": 1, "periodUnit": "d"},
                                          "event": ["2015-01-15T08:00:00Z", "2015-01-15T20:00:00Z"]},
                               "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mL"}}]}],
        "dispenseRequest": {"validityPeriod": {"start": "2015-01-15", "end": "2016-01-15"}, "numberOfRepeatsAllowed": 3,
                            "quantity": {"value": 1000, "unit": "mL"}, "performer": {"reference": "Organization/org-1"}},
    },
    {
        "resourceType": "MedicationRequest",
        "id": "medrx-2",
        "contained": [{"resourceType": "Medication", "id": "med", "code": {"text": "Compounded cream"}}],
        "status": "completed",
        "intent": "plan",
        "medicationReference": {"reference": "#med"},
        "subject": {"reference": "Patient/pat-2"},
        "authoredOn": "2020-06-01T10:00:00Z",
        "requester": {"reference": "Practitioner/prac-1"},
        "dosageInstruction": [{"timing": {"event": ["2020-06-02"]}}],
    },
    {
        "resourceType": "Encounter",
        "id": "enc-1",
        "meta": {"lastUpdated": "2024-05-01T12:00:00Z"},
        "identifier": [{"use": "temp", "system": "http://www.amc.nl/zorgportal/identifiers/visits", "value": "v1451"}],
        "status": "finished",
        "statusHistory": [{"status": "arrived", "period": {"start": "2024-05-01T08:00:00Z", "end": "2024-05-01T08:30:00Z"}}],
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter"},
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "183807002", "display": "Inpatient stay for nine days"}]}],
        "serviceType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/service-type", "code": "117"}]},
        "priority": {"coding": [{"system": "http://snomed.info/sct", "code": "394849002", "display": "High priority"}]},
        "subject": {"reference": "Patient/pat-1"},
        "episodeOfCare": [{"reference": "EpisodeOfCare/eoc-1"}],
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "participant": [
            {"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PART"}]}],
             "period": {"start": "2024-05-01T08:00:00Z"},
             "individual": {"reference": "Practitioner/prac-1"}},
            {"individual": {"reference": "RelatedPerson/rp-1"}},
        ],
        "appointment": [{"reference": "Appointment/appt-1"}],
        "period": {"start": "2024-05-01T08:00:00Z", "end": "2024-05-10T10:00:00Z"},
        "length": {"value": 9, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
        "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "34068001", "display": "Heart valve replacement"}]}],
        "reasonReference": [{"reference": "Condition/cond-1"}],
        "diagnosis": [{"condition": {"reference": "Condition/cond-1"}, "rank": 1}],
        "hospitalization": {"specialArrangement": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/encounter-special-arrangements", "code": "wheel"}]}]},
        "location": [{"location": {"reference": "Location/loc-1"}, "status": "completed",
                      "period": {"start": "2024-05-01T08:00:00Z", "end": "2024-05-10T10:00:00Z"}}],
        "serviceProvider": {"reference": "Organization/org-1"},
        "partOf": {"reference": "Encounter/enc-0"},
    },
    {
        "resourceType": "Practitioner",
        "id": "prac-1",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9941339108"}],
        "active": True,
        "name": [{"family": "Careful", "given": ["Adam"], "prefix": ["Dr"]}],
        "telecom": [{"system": "email", "value": "adam.careful@example.org", "use": "work"},
                    {"system": "phone", "value": "+1 555 0100", "use": "work"}],
        "address": [{"use": "work", "line": ["534 Erewhon St"], "city": "PleasantVille", "state": "Vic",
                     "postalCode": "3999", "country": "AU"}],
        "gender": "male",
        "communication": [{"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}],
        "qualification": [{"code": {"text": "MD"}}],
    },
    {
        "resourceType": "Organization",
        "id": "org-1",
        "identifier": [{"system": "http://www.zorgkaartnederland.nl/", "value": "Gastroenterology"}],
        "active": True,
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}]}],
        "name": "Gastroenterology",
        "alias": ["Gastro", "Gastroenterology"],
        "telecom": [{"system": "phone", "value": "+31-20-5555-4444"}],
        "address": [{"city": "Amsterdam", "country": "NLD", "postalCode": "1105 AZ"}],
        "partOf": {"reference": "Organization/org-0"},
        "endpoint": [{"reference": "Endpoint/ep-1"}],
    },
    {
        "resourceType": "AllergyIntolerance",
        "id": "allergy-1",
        "identifier": [{"system": "http://acme.com/ids/patients/risks", "value": "49476534"}],
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
        "type": "allergy",
        "category": ["food"],
        "criticality": "high",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "227493005", "display": "Cashew nuts"}]},
        "patient": {"reference": "Patient/pat-1"},
        "onsetDateTime": "2004",
        "recordedDate": "2014-10-09T14:58:00+11:00",
        "recorder": {"reference": "Practitioner/prac-1"},
        "asserter": {"reference": "Patient/pat-1"},
        "lastOccurrence": "2012-06",
        "reaction": [{"substance": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1160593"}]},
                      "manifestation": [{"coding": [{"system": "http://snomed.info/sct", "code": "39579001", "display": "Anaphylactic reaction"}]}],
                      "onset": "2012-06-12", "severity": "severe",
                      "exposureRoute": {"coding": [{"system": "http://snomed.info/sct", "code": "34206005"}]}}],
    },
    {
        "resourceType": "Procedure",
        "id": "proc-1",
        "identifier": [{"system": "http://example.org/procedures", "value": "P-1"}],
        "instantiatesCanonical": ["http://example.org/fhir/PlanDefinition/kidney"],
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "status": "completed",
        "category": {"coding": [{"system": "http://snomed.info/sct", "code": "103693007"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "80146002", "display": "Appendectomy"}]},
        "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"},
        "performedPeriod": {"start": "2013-04-05T10:00:00Z", "end": "2013-04-05T11:30:00Z"},
        "performer": [{"actor": {"reference": "Practitioner/prac-1"}, "onBehalfOf": {"reference": "Organization/org-1"}}],
        "location": {"reference": "Location/loc-1"},
        "reasonCode": [{"text": "Generalized abdominal pain 24 hours."}],
        "reasonReference": [{"reference": "Condition/cond-1"}],
    },
    {
        "resourceType": "DiagnosticReport",
        "id": "dr-1",
        "identifier": [{"system": "http://acme.com/lab/reports", "value": "5234342"}],
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "HM"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel - Blood by Automated count"}]},
        "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"},
        "effectiveDateTime": "2011-03-04T08:30:00+11:00",
        "issued": "2011-03-04T11:45:33+11:00",
        "performer": [{"reference": "Organization/org-1"}],
        "resultsInterpreter": [{"reference": "Practitioner/prac-1"}],
        "specimen": [{"reference": "Specimen/spec-1"}],
        "result": [{"reference": "Observation/lab-1"}, {"reference": "Observation/bp-1"}],
        "conclusionCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "428763004"}]}],
        "presentedForm": [{"contentType": "text/plain", "language": "en", "data": "aGVsbG8="}],
    },
    {
        "resourceType": "Immunization",
        "id": "imm-1",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.3.6.1.4.1.21367.2005.3.7.1234"}],
        "status": "completed",
        "statusReason": {"text": "not applicable"},
        "vaccineCode": {"coding": [{"system": "urn:oid:1.2.36.1.2001.1005.17", "code": "FLUVAX"}], "text": "Fluvax (Influenza)"},
        "patient": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"},
        "occurrenceDateTime": "2013-01-10",
        "primarySource": True,
        "location": {"reference": "Location/loc-1"},
        "manufacturer": {"reference": "Organization/org-1"},
        "lotNumber": "AAJN11K",
        "expirationDate": "2015-02-15",
        "performer": [{"actor": {"reference": "Practitioner/prac-1"}}],
        "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "429060002"}]}],
        "reaction": [{"date": "2013-01-10", "detail": {"reference": "Observation/obs-r"}}],
        "protocolApplied": [{"series": "2-dose", "targetDisease": [{"coding": [{"system": "http://snomed.info/sct", "code": "6142004"}]}],
                             "doseNumberPositiveInt": 1}],
    },
    {
        "resourceType": "ActivityDefinition",
        "id": "ad-1",
        "url": "http://example.org/fhir/ActivityDefinition/ad-1",
        "version": "1.0.0",
        "name": "ReferralPrimaryCareMentalHealth",
        "title": "Referral to primary care mental health",
        "status": "active",
        "date": "2017-03-03T14:06:00Z",
        "publisher": "Motive Medical Intelligence",
        "description": "refer to primary care mental-health integrated care program",
        "useContext": [
            {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "age"},
             "valueRange": {"low": {"value": 18, "unit": "a"}}},
            {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"},
             "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "87512008"}]}},
            {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "program"},
             "valueQuantity": {"value": 2}},
        ],
        "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "US"}]}],
        "topic": [{"text": "Mental Health Referral"}],
        "effectivePeriod": {"start": "2017-03-01", "end": "2017-12-31"},
        "relatedArtifact": [
            {"type": "citation", "display": "Practice guideline"},
            {"type": "predecessor", "resource": "http://example.org/fhir/ActivityDefinition/ad-0"},
            {"type": "depends-on", "resource": "http://example.org/fhir/Library/lib-1"},
            {"type": "depends-on", "resource": "http://example.org/fhir/Library/lib-2"},
        ],
        "library": ["http://example.org/fhir/Library/lib-3"],
        "kind": "ServiceRequest",
    },
    {
        "resourceType": "ConceptMap",
        "id": "cm-1",
        "url": "http://example.org/fhir/ConceptMap/cm-1",
        "name": "ExampleMap",
        "status": "draft",
        "sourceCanonical": "http://example.org/fhir/ValueSet/src",
        "targetUri": "http://example.org/fhir/ValueSet/tgt",
        "group": [{"source": "http://example.org/cs/a", "target": "http://example.org/cs/b",
                   "element": [{"code": "x", "target": [{"code": "y", "equivalence": "equivalent"}]}]}],
    },
    {
        "resourceType": "Bundle",
        "id": "bundle-1",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},
        "type": "document",
        "timestamp": "2024-05-02T09:00:00Z",
        "entry": [
            {"fullUrl": "urn:uuid:180f219f-97a8-486d-99d9-ed631fe4fc57",
             "resource": {"resourceType": "Composition", "id": "comp-1", "status": "final",
                          "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
                          "subject": {"reference": "urn:uuid:2"}, "date": "2024-05-02", "title": "Consult note",
                          "author": [{"reference": "Practitioner/prac-1"}]}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Patient", "id": "p-in-bundle", "gender": "other"}},
        ],
    },
]


def _expressions_for(resource_type: str, params: list[dict]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for p in params:
        expr = p.get("expression")
        if not expr or any(f in expr for f in EXCLUDED_FRAGMENTS):
            continue
        base = p.get("base", [])
        if resource_type in base or "Resource" in base or "DomainResource" in base:
            if expr not in seen:
                seen.add(expr)
                out.append(expr)
    return out


def _canonical(value):
    """A strict comparison form: keeps True apart from 1 and 1.50 equal to 1.5."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float, Decimal)):
        return ("num", Decimal(str(value)).normalize())
    if isinstance(value, str):
        return ("str", value)
    if value is None:
        return ("null",)
    if isinstance(value, dict):
        return ("obj", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("arr", tuple(_canonical(v) for v in value))
    # fhirpathpy FP_* types (dates, times, quantities) -> their text.
    return ("str", str(value))


def _fhirpathpy_eval(resource: dict, expr: str):
    fp_expr = LEADING_ABSTRACT_TYPE.sub(resource["resourceType"] + ".", expr)
    try:
        return fhirpathpy.evaluate(copy.deepcopy(resource), fp_expr, {}, R4)
    except ValueError as e:
        if "Expected singleton on left side of 'as'" not in str(e):
            raise
    rewritten = PAREN_AS.sub(r"((\1).ofType(\2))", fp_expr)
    return fhirpathpy.evaluate(copy.deepcopy(resource), rewritten, {}, R4)


def _healthhub_eval(name: str, text: str, exprs: list[str], tmp_path: Path) -> list[list]:
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    cmd = [HEALTHHUB_BIN, "fhirpath"]
    for e in exprs:
        cmd += ["--expression", e]
    cmd.append(str(path))
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"{' '.join(cmd[:4])} ... exited {res.returncode}: {res.stderr[-4000:]}"
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    assert len(lines) == len(exprs), (
        f"expected {len(exprs)} result lines for {path.name}, got {len(lines)}:\n{res.stdout[:2000]}"
    )
    return [json.loads(line, parse_float=Decimal) for line in lines]


def test_fhirpath_matches_fhirpathpy_on_official_search_expressions(tmp_path):
    if not os.access(HEALTHHUB_BIN, os.X_OK):
        pytest.fail(f"HEALTHHUB_BIN={HEALTHHUB_BIN!r} is not an executable file")
    params = json.loads(SEARCH_PARAMETERS.read_text())
    assert len({r["resourceType"] for r in RESOURCES}) >= 6

    compared = 0
    non_empty = 0
    mismatches: list[str] = []
    for original in RESOURCES:
        text = json.dumps(original)
        # Exact decimals on both sides (HealthHub keeps the literal text of numbers).
        resource = json.loads(text, parse_float=Decimal)
        exprs = _expressions_for(resource["resourceType"], params)
        assert exprs, resource["resourceType"]
        ours_all = _healthhub_eval(f"{resource['resourceType']}-{resource['id']}", text, exprs, tmp_path)
        for expr, ours in zip(exprs, ours_all):
            theirs = _fhirpathpy_eval(resource, expr)
            compared += 1
            if theirs:
                non_empty += 1
            if _canonical(ours) != _canonical(list(theirs)):
                mismatches.append(
                    f"{resource['resourceType']}/{resource['id']}: {expr}\n"
                    f"    healthhub:  {json.dumps(ours, default=str)}\n"
                    f"    fhirpathpy: {json.dumps(list(theirs), default=str)}"
                )

    assert not mismatches, f"{len(mismatches)} of {compared} results differ:\n" + "\n".join(mismatches)
    assert compared >= MIN_PAIRS, f"only {compared} (resource, expression) pairs compared"
    assert non_empty >= MIN_NON_EMPTY, f"only {non_empty} of {compared} results were non-empty"
