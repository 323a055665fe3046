"""Realistic R4 resources for the interop tests (valid against fhir.resources 6.4.0 / R4 4.0.1)."""

from __future__ import annotations

import random

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def _digits(n: int) -> str:
    return "".join(random.SystemRandom().choice("0123456789") for _ in range(n))


def patient(family: str, given=("Ada", "Maria"), birth_date="1984-03-12") -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{
            "use": "usual",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                 "code": "MR", "display": "Medical Record Number"}]},
            "system": "urn:oid:1.2.36.146.595.217.0.1",
            "value": "MRN-" + _digits(8),
        }],
        "active": True,
        "name": [{"use": "official", "family": family, "given": list(given), "prefix": ["Ms."]}],
        "telecom": [
            {"system": "phone", "value": "+44 20 7946 0000", "use": "mobile"},
            {"system": "email", "value": "ada.interop@example.org"},
        ],
        "gender": "female",
        "birthDate": birth_date,
        "address": [{"use": "home", "line": ["12 Harley Street"], "city": "London",
                     "postalCode": "W1G 9PF", "country": "GB"}],
        "maritalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
            "code": "M", "display": "Married"}]},
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-GB"}]},
                           "preferred": True}],
    }


def practitioner(family: str) -> dict:
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9" + _digits(9)}],
        "active": True,
        "name": [{"family": family, "given": ["Gregory"], "prefix": ["Dr."]}],
        "telecom": [{"system": "email", "value": "g.house@example.org", "use": "work"}],
        "gender": "male",
        "qualification": [{"code": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0360|2.7",
            "code": "MD", "display": "Doctor of Medicine"}]}}],
    }


def organization(name: str) -> dict:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:2.16.840.1.113883.19." + _digits(6)}],
        "active": True,
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                              "code": "prov", "display": "Healthcare Provider"}]}],
        "name": name,
        "telecom": [{"system": "phone", "value": "+44 20 7946 0001", "use": "work"}],
        "address": [{"line": ["1 Infirmary Road"], "city": "London", "postalCode": "SE1 7EH", "country": "GB"}],
    }


def encounter(patient_id: str, practitioner_id: str, organization_id: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                  "display": "ambulatory"},
        "type": [{"coding": [{"system": SNOMED, "code": "185349003",
                              "display": "Encounter for check up (procedure)"}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "participant": [{"individual": {"reference": f"Practitioner/{practitioner_id}"}}],
        "period": {"start": "2024-05-02T09:30:00+01:00", "end": "2024-05-02T10:00:00+01:00"},
        "serviceProvider": {"reference": f"Organization/{organization_id}"},
    }


def heart_rate(patient_id: str, encounter_id: str | None = None, value=72) -> dict:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}], "text": "Heart rate"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2024-05-02T09:40:00+01:00",
        "valueQuantity": {"value": value, "unit": "beats/minute", "system": UCUM, "code": "/min"},
    }
    if encounter_id:
        obs["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return obs


def blood_pressure(patient_id: str, encounter_id: str | None = None) -> dict:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": "85354-9",
                             "display": "Blood pressure panel with all children optional"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2024-05-02T09:41:00+01:00",
        "component": [
            {"code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
             "valueQuantity": {"value": 121.5, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
             "valueQuantity": {"value": 79, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
        ],
    }
    if encounter_id:
        obs["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return obs


def condition(patient_id: str, encounter_id: str) -> dict:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "verificationStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}],
        "code": {"coding": [{"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}],
                 "text": "Type 2 diabetes"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "onsetDateTime": "2019-06-01",
        "recordedDate": "2024-05-02T09:50:00+01:00",
    }


def medication_request(patient_id: str, encounter_id: str, practitioner_id: str, condition_id: str) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975",
            "display": "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "authoredOn": "2024-05-02T09:55:00+01:00",
        "requester": {"reference": f"Practitioner/{practitioner_id}"},
        "reasonReference": [{"reference": f"Condition/{condition_id}"}],
        "dosageInstruction": [{
            "sequence": 1,
            "text": "500 mg once daily with the evening meal",
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg", "system": UCUM, "code": "mg"}}],
        }],
    }


def allergy(patient_id: str) -> dict:
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            "code": "confirmed"}]},
        "type": "allergy",
        "category": ["food"],
        "criticality": "high",
        "code": {"coding": [{"system": SNOMED, "code": "91935009", "display": "Allergy to peanut"}]},
        "patient": {"reference": f"Patient/{patient_id}"},
        "recordedDate": "2024-05-02",
        "reaction": [{"manifestation": [{"coding": [{"system": SNOMED, "code": "39579001",
                                                     "display": "Anaphylaxis"}]}],
                      "severity": "severe"}],
    }


def immunization(patient_id: str, encounter_id: str, practitioner_id: str) -> dict:
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140",
                                    "display": "Influenza, seasonal, injectable, preservative free"}]},
        "patient": {"reference": f"Patient/{patient_id}"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "occurrenceDateTime": "2024-05-02T09:58:00+01:00",
        "primarySource": True,
        "lotNumber": "AAJN11K",
        "route": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
                              "code": "IM", "display": "Injection, intramuscular"}]},
        "performer": [{"actor": {"reference": f"Practitioner/{practitioner_id}"}}],
    }
