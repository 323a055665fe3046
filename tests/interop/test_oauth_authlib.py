"""A real OAuth2 client library (authlib) against a running HealthHub: the SMART authorization
code flow with PKCE (login, MFA enrolment and consent driven like a browser), refresh-token
rotation and reuse detection, and the client-credentials flow with client_secret_basic,
client_secret_post and private_key_jwt. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
import time
import urllib.parse

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import fhir_samples as S
from hhinterop import expect, unique_word

REDIRECT = "https://app.example/callback"
PASSWORD = "glacier-mint-4417-harbor"


def totp(secret_b32: str, counter: int) -> str:
    """RFC 6238 with the parameters HealthHub enrols (SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


def next_code(world) -> str:
    """A code of a time step not used yet: the server accepts one step of drift either way, and
    each step once."""
    while True:
        now = int(time.time() // 30)
        step = max(world["last_step"] + 1, now - 1)
        if step <= now + 1:
            world["last_step"] = step
            return totp(world["totp"], step)
        time.sleep(1)


def field(name: str, html: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no {name} field in page:\n{html[:2000]}"
    return m.group(1).replace("&amp;", "&")


@pytest.fixture(scope="module")
def world(hh):
    """A patient in the care of a practitioner (an Encounter), and the practitioner's account."""
    pid = hh.post("Patient", S.patient(unique_word("Oauth"))).json()["id"]
    prac = hh.post("Practitioner", {"resourceType": "Practitioner", "name": [{"family": unique_word("Doc")}]}).json()["id"]
    enc = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
           "subject": {"reference": f"Patient/{pid}"}, "participant": [{"individual": {"reference": f"Practitioner/{prac}"}}]}
    expect(hh.post("Encounter", enc), 201)
    other = hh.post("Patient", S.patient(unique_word("Other"))).json()["id"]
    email = unique_word("dr").lower() + "@example.org"
    out = hh.cli("users", "create", "--role", "practitioner", "--email", email, "--practitioner", f"Practitioner/{prac}",
                 "--password-stdin", stdin=PASSWORD + "\n")
    enrolment_code = re.search(r"Enrolment code[^:]*: (\S+)", out).group(1)
    return {"patient": pid, "other": other, "practitioner": prac, "email": email, "enrolment_code": enrolment_code}


def sign_in_and_consent(hh, world, authorize_url: str) -> str:
    """Plays the browser: login, TOTP enrolment, consent. Returns the redirect back to the app."""
    browser = requests.Session()
    browser.trust_env = False
    r = browser.get(authorize_url, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login?")
    page = browser.get(hh.root + r.headers["Location"])
    expect(page, 200)
    r = browser.post(hh.root + "/login", data={"email": world["email"], "password": PASSWORD,
                                               "csrf": field("csrf", page.text), "next": field("next", page.text)}, allow_redirects=False)
    if 'name="enrolment_code"' in r.text:  # first sign-in: MFA is mandatory for practitioners
        assert "otpauth://" not in r.text  # the password alone does not show the secret
        r = browser.post(hh.root + "/login/enrol", data={"enrolment_code": world["enrolment_code"], "csrf": field("csrf", r.text), "next": field("next", r.text)})
        secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", r.text).group(1)
        world["totp"], world["last_step"] = secret, int(time.time() // 30) - 2
        r = browser.post(hh.root + "/login/enrol", data={"enrolment_code": world["enrolment_code"], "code": next_code(world),
                                                         "csrf": field("csrf", r.text), "next": field("next", r.text)})
        assert "Recovery codes" in r.text
    else:
        r = browser.post(hh.root + "/login/mfa", data={"code": next_code(world), "csrf": field("csrf", r.text), "next": field("next", r.text)}, allow_redirects=False)
        assert r.status_code == 303, r.text
    consent = browser.get(authorize_url, allow_redirects=False)
    expect(consent, 200)
    data = {name: field(name, consent.text) for name in
            ["client_id", "redirect_uri", "response_type", "scope", "code_challenge", "code_challenge_method", "state", "csrf"]}
    data["decision"] = "allow"
    back = browser.post(hh.root + "/oauth/consent", data=data, allow_redirects=False)
    assert back.status_code == 303, back.text
    return back.headers["Location"]


def test_smart_configuration_is_discoverable(hh):
    conf = requests.get(hh.base + "/.well-known/smart-configuration", timeout=10).json()
    assert conf["authorization_endpoint"] == hh.root + "/oauth/authorize"
    assert "S256" in conf["code_challenge_methods_supported"]
    assert {"private_key_jwt", "client_secret_basic"} <= set(conf["token_endpoint_auth_methods_supported"])
    jwks = requests.get(conf["jwks_uri"], timeout=10).json()
    assert all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in jwks["keys"])


def test_authorization_code_with_pkce_refresh_rotation_and_reuse(hh, world):
    client = hh.new_client("authlib app", "openid fhirUser user/*.rs offline_access", "--redirect-uri", REDIRECT)
    conf = requests.get(hh.base + "/.well-known/smart-configuration", timeout=10).json()
    session = OAuth2Session(client["client_id"], client["client_secret"], scope="openid fhirUser user/*.rs offline_access",
                            redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = session.create_authorization_url(conf["authorization_endpoint"], code_verifier=verifier, aud=hh.base)
    location = sign_in_and_consent(hh, world, url)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["state"] == [state]
    token = session.fetch_token(conf["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["expires_in"] <= 3600
    assert {"access_token", "refresh_token", "id_token"} <= set(token)
    # the practitioner reads their patient, and not the other one
    expect(session.get(f"{hh.base}/Patient/{world['patient']}"), 200)
    expect(session.get(f"{hh.base}/Patient/{world['other']}"), 403)
    # rotation: a new refresh token each time; the old one, presented again, revokes the grant
    old_refresh = token["refresh_token"]
    new = session.refresh_token(conf["token_endpoint"])
    assert new["refresh_token"] != old_refresh
    reuse = requests.post(conf["token_endpoint"], auth=(client["client_id"], client["client_secret"]),
                          data={"grant_type": "refresh_token", "refresh_token": old_refresh}, timeout=10)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    revoked = requests.post(conf["token_endpoint"], auth=(client["client_id"], client["client_secret"]),
                            data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]}, timeout=10)
    assert revoked.status_code == 400
    # and the access tokens of the grant stop working
    time.sleep(2.5)
    expect(session.get(f"{hh.base}/Patient/{world['patient']}"), 401)


def test_pkce_mismatch_and_code_replay_are_refused(hh, world):
    client = hh.new_client("pkce app", "user/*.rs", "--redirect-uri", REDIRECT, "--public")
    conf = requests.get(hh.base + "/.well-known/smart-configuration", timeout=10).json()
    session = OAuth2Session(client["client_id"], scope="user/*.rs", redirect_uri=REDIRECT, code_challenge_method="S256",
                            token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(conf["authorization_endpoint"], code_verifier=verifier)
    location = sign_in_and_consent(hh, world, url)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    wrong = requests.post(conf["token_endpoint"], data={"grant_type": "authorization_code", "code": code, "client_id": client["client_id"],
                                                        "redirect_uri": REDIRECT, "code_verifier": generate_token(64)}, timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # without PKCE there is no authorization at all
    no_pkce = requests.get(conf["authorization_endpoint"], params={"response_type": "code", "client_id": client["client_id"],
                                                                    "redirect_uri": REDIRECT, "scope": "user/*.rs", "state": "s"},
                           allow_redirects=False, timeout=10)
    assert no_pkce.status_code == 303 and "error=invalid_request" in no_pkce.headers["Location"]
    # a good code works once
    url, _ = session.create_authorization_url(conf["authorization_endpoint"], code_verifier=verifier)
    location = sign_in_and_consent(hh, world, url)
    token = session.fetch_token(conf["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert "access_token" in token and "refresh_token" not in token
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    replay = requests.post(conf["token_endpoint"], data={"grant_type": "authorization_code", "code": code, "client_id": client["client_id"],
                                                         "redirect_uri": REDIRECT, "code_verifier": verifier}, timeout=10)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_with_a_secret(hh, world, method):
    client = hh.new_client("backend " + method, "system/Patient.rs system/Observation.rs")
    token_url = hh.root + "/oauth/token"
    session = OAuth2Session(client["client_id"], client["client_secret"], token_endpoint_auth_method=method, scope="system/Patient.rs")
    token = session.fetch_token(token_url, grant_type="client_credentials")
    assert token["scope"] == "system/Patient.rs"
    expect(session.get(f"{hh.base}/Patient/{world['patient']}"), 200)
    expect(session.get(f"{hh.base}/Encounter?subject=Patient/{world['patient']}"), 403)
    bad = OAuth2Session(client["client_id"], "not-the-secret", token_endpoint_auth_method=method)
    with pytest.raises(Exception):
        bad.fetch_token(token_url, grant_type="client_credentials")


def test_client_credentials_with_private_key_jwt(hh, world, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": b64(numbers.n), "e": b64(numbers.e)}]}))
    client = hh.new_client("bulk backend", "system/*.rs", "--jwks-file", str(jwks))
    assert client["client_secret"] is None
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    token_url = hh.root + "/oauth/token"
    # SMART Backend Services: an assertion may live 5 minutes at most; authlib's default hour is refused
    lax = OAuth2Session(client["client_id"], pem, token_endpoint_auth_method="private_key_jwt")
    lax.register_client_auth_method(PrivateKeyJWT(token_url, headers={"kid": "k1"}))
    with pytest.raises(Exception):
        lax.fetch_token(token_url, grant_type="client_credentials", scope="system/*.rs")
    strict = OAuth2Session(client["client_id"], pem, token_endpoint_auth_method="private_key_jwt")
    strict.register_client_auth_method(PrivateKeyJWT(token_url, headers={"kid": "k1"}, claims={"exp": int(time.time()) + 240}))
    token = strict.fetch_token(token_url, grant_type="client_credentials", scope="system/*.rs")
    expect(strict.get(f"{hh.base}/Patient/{world['patient']}"), 200)
    # another application (the test suite's own client) learns nothing about this client's token
    intro = requests.post(hh.root + "/oauth/introspect", auth=(hh.auth.client_id, hh.auth.client_secret),
                          data={"token": token["access_token"]}, timeout=10).json()
    assert intro == {"active": False}
