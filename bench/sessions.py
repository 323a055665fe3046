"""Signed-in sessions of the demo accounts, for the page benchmarks (bench/pages, bench/users)."""
import base64, hashlib, hmac, re, struct, time
import requests


def credentials(work):
    text = open(f"{work}/data/demo-credentials.txt").read()
    creds = {l.split(":")[0]: dict(re.findall(r"(\w+)=(\S+)", l)) | {"email": l.split()[1]} for l in text.splitlines() if "@demo.healthhub.test" in l}
    return text, creds


def totp(secret):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    d = hmac.new(key, struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
    o = d[-1] & 15
    return f"{(struct.unpack('>I', d[o:o + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


def field(name, html):
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def sign_in(root, creds, role):
    """A browser-like session of a demo account; staff enrol their authenticator as a browser would."""
    s = requests.Session()
    page = s.get(root + "/login")
    page = s.post(root + "/login", data={"email": creds[role]["email"], "password": creds[role]["password"], "csrf": field("csrf", page.text), "next": "/login"})
    if "enrolment_code" in page.text:
        page = s.post(root + "/login/enrol", data={"csrf": field("csrf", page.text), "next": "/login", "enrolment_code": creds[role]["enrolment_code"]})
        secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", page.text).group(1)
        s.post(root + "/login/enrol", data={"csrf": field("csrf", page.text), "next": "/login", "enrolment_code": creds[role]["enrolment_code"], "code": totp(secret)})
    return s
