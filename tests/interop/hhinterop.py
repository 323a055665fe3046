"""Helpers shared by the interop tests (imported as a plain module: pytest puts this folder on sys.path)."""

from __future__ import annotations

import random
import re
import string

import requests
from fhir.resources import construct_fhir_element

FHIR_JSON = "application/fhir+json"
# FHIR id: [A-Za-z0-9\-\.]{1,64}
ID_RE = r"[A-Za-z0-9\-.]{1,64}"


def unique_word(prefix: str = "Zz", n: int = 10) -> str:
    """A letters-only word that no other test run uses (exact string searches stay exact)."""
    return prefix + "".join(random.SystemRandom().choice(string.ascii_lowercase) for _ in range(n))


def parse(resp: requests.Response, resource_type: str | None = None):
    """Assert the response is FHIR JSON and parse it strictly with fhir.resources 6.4.0 (R4 4.0.1).

    Returns (json dict, fhir.resources model). Raises pydantic's ValidationError on any element
    the R4 model does not accept.
    """
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == FHIR_JSON, (
        f"{resp.request.method} {resp.url} -> {resp.status_code} Content-Type {ctype!r}: {resp.text[:500]}"
    )
    body = resp.json()
    assert isinstance(body, dict) and "resourceType" in body, body
    if resource_type is not None:
        assert body["resourceType"] == resource_type, (
            f"{resp.request.method} {resp.url} -> {resp.status_code}: expected {resource_type}, got {body}"
        )
    model = construct_fhir_element(body["resourceType"], body)
    return body, model


def expect(resp: requests.Response, status: int) -> None:
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.url}: expected {status}, got {resp.status_code}: {resp.text[:1000]}"
    )


def location_id(resp: requests.Response, resource_type: str, base: str) -> tuple[str, str | None]:
    """Check a create/update Location header ([base]/Type/id[/_history/vid]); return (id, vid)."""
    loc = resp.headers.get("Location", "")
    m = re.fullmatch(
        rf"(?:{re.escape(base)}/)?{resource_type}/({ID_RE})(?:/_history/({ID_RE}))?", loc
    )
    if m is None:  # relative to the server root, e.g. /fhir/Patient/123
        m = re.fullmatch(rf"/fhir/{resource_type}/({ID_RE})(?:/_history/({ID_RE}))?", loc)
    assert m is not None, f"Location {loc!r} is not [base]/{resource_type}/<id>[/_history/<vid>]"
    return m.group(1), m.group(2)


def issue_text(outcome: dict) -> str:
    """All human/machine text of an OperationOutcome's issues, for 'names the path' checks."""
    parts = []
    for issue in outcome.get("issue", []):
        parts.append(issue.get("diagnostics", ""))
        parts.extend(issue.get("expression", []))
        parts.extend(issue.get("location", []))
        parts.append((issue.get("details") or {}).get("text", ""))
    return " ".join(parts)
