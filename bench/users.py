"""The measuring half of `bench/pages users`: USERS (default 100) simulated people on the pages at
once, each signed in with their own session, loading a page, reading it for a while (think time,
uniform THINK_MIN..THINK_MAX seconds, default 2..8), and loading the next, for DURATION seconds.
80% are patients (40 patient accounts of the demo data, two sessions each), 20% clinicians (the
demo clinician's session: TOTP allows one sign-in per 30 s). Latency is measured at the client
around each request; the baseline is the same users on GET /health in the same session."""
import os, random, re, statistics, subprocess, sys, threading, time
import requests
from sessions import credentials, sign_in

root, work, users, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
think = (float(os.environ.get("THINK_MIN", 2)), float(os.environ.get("THINK_MAX", 8)))
binary, database = os.environ["HEALTHHUB_BIN"], f"sqlite://{work}/hh.db"
text, creds = credentials(work)
token = requests.post(root + "/oauth/token", auth=(re.search(r"client_id=(\S+)", text).group(1), re.search(r"client_secret=(\S+)", text).group(1)),
                      data={"grant_type": "client_credentials"}).json()["access_token"]

# patient accounts for 40 demo patients (the demo patient's own among them)
linked = {l.split("\t")[2] for l in subprocess.run([binary, "users", "list", "--database", database], capture_output=True, text=True, check=True).stdout.splitlines()}
ids = [e["resource"]["id"] for e in requests.get(root + "/fhir/Patient?_count=60", headers={"Authorization": f"Bearer {token}"}).json()["entry"]]
accounts = [(creds["patient"]["email"], creds["patient"]["password"])]
for i, pid in enumerate(ids):
    if len(accounts) == 40:
        break
    if f"Patient/{pid}" in linked:
        continue
    email, password = f"bench.patient.{i}@demo.healthhub.test", f"bench-orchid-{i:03d}-lantern"
    subprocess.run([binary, "users", "create", "--database", database, "--role", "patient", "--email", email, "--patient", f"Patient/{pid}", "--password-stdin"],
                   input=password + "\n", capture_output=True, text=True, check=True)
    accounts.append((email, password))


def patient_session(email, password):
    return sign_in(root, {"p": {"email": email, "password": password}}, "p")


patients = [patient_session(*accounts[i % len(accounts)]) for i in range(users * 8 // 10)]
clinician = sign_in(root, creds, "practitioner")
chart = re.search(r'href="(/console/patients/[0-9a-f-]+)"', clinician.get(root + "/console/patients").text).group(1)
mix = {
    "patient": [("/portal", 35), ("/portal/appointments", 20), ("/portal/messages", 20), ("/portal/records", 15), ("/portal/profile", 10)],
    "clinician": [("/console", 35), ("/console/inbox", 25), ("/console?view=week", 15), ("/console/patients", 10), (chart, 15)],
}


def simulate(session, role, seconds, samples, only=None):
    """One person: a page, a pause, the next page... until the time is up."""
    rng = random.Random()
    time.sleep(rng.uniform(0, think[1]))  # (people do not all arrive in the same second)
    end = time.time() + seconds
    paths, weights = zip(*mix[role])
    while time.time() < end:
        path = only or rng.choices(paths, weights)[0]
        t0 = time.perf_counter()
        reply = session.get(root + path, allow_redirects=False)
        elapsed = (time.perf_counter() - t0) * 1000
        samples.append(("chart" if path == chart else path, elapsed, reply.status_code, len(reply.content)))
        time.sleep(rng.uniform(*think))


def run(seconds, only=None):
    samples = []
    people = [(s, "patient") for s in patients] + [(clinician, "clinician")] * (users - len(patients))
    threads = [threading.Thread(target=simulate, args=(s, role, seconds, samples, only)) for s, role in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


base = run(max(20, duration // 3), only="/health")
base50, base99 = pct([s[1] for s in base], 50), pct([s[1] for s in base], 99)
print(f"{users} users, think time {think[0]:g}-{think[1]:g} s, {duration} s; {len(accounts)} patient accounts, {len(patients)} patient sessions")
print(f"baseline GET /health, same users: {len(base)} requests, p50 {base50:.1f} ms, p99 {base99:.1f} ms")
samples = run(duration)
bad = [s for s in samples if s[2] != 200]
print(f"pages: {len(samples)} requests ({len(samples) / duration:.1f}/s), {len(bad)} not 200")
print(f"{'page':28} {'n':>5} {'KB max':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
for path in sorted({s[0] for s in samples}):
    mine = [s for s in samples if s[0] == path]
    lat = [s[1] for s in mine]
    print(f"{path:28} {len(mine):5} {max(s[3] for s in mine) / 1024:7.1f} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} {max(lat):8.1f}")
lat = [s[1] for s in samples]
print(f"{'all pages':28} {len(samples):5} {'':7} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} {max(lat):8.1f}   (p99 / baseline p99: {pct(lat, 99) / base99:.1f})")
