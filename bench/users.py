"""The measuring half of `bench/pages users`: USERS (default 100) simulated people on the pages at
once, each signed in with their own session, loading a page, reading it for a while (think time,
uniform THINK_MIN..THINK_MAX seconds, default 2..8), and loading the next, for DURATION seconds.
80% are patients (40 patient accounts of the demo data, two sessions each), 20% clinicians (the
demo clinician's session: TOTP allows one sign-in per 30 s). Latency is measured at the client
around each request, and at the server (the access log's duration_ms of the same request, found
by its X-Request-ID: from the request reaching HealthHub's middleware to the response leaving
it, without the client's own thread scheduling); the baseline is the same users on GET /health
in the same session."""
import itertools, json, os, random, re, statistics, subprocess, sys, threading, time
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


ids = itertools.count()


def simulate(session, role, seconds, samples, only=None):
    """One person: a page, a pause, the next page... until the time is up."""
    rng = random.Random()
    time.sleep(rng.uniform(0, think[1]))  # (people do not all arrive in the same second)
    end = time.time() + seconds
    paths, weights = zip(*mix[role])
    while time.time() < end:
        path = only or rng.choices(paths, weights)[0]
        rid = f"bench-{next(ids)}"
        t0 = time.perf_counter()
        reply = session.get(root + path, allow_redirects=False, headers={"X-Request-ID": rid})
        elapsed = (time.perf_counter() - t0) * 1000
        samples.append(("chart" if path == chart else path, elapsed, reply.status_code, len(reply.content), rid))
        time.sleep(rng.uniform(*think))


def server_times():
    """duration_ms of each bench request in the server's access log, by request id."""
    times = {}
    with open(os.path.join(work, "serve.log")) as log:
        for line in log:
            if '"bench-' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "request" and "duration_ms" in entry:
                times[entry.get("request_id")] = float(entry["duration_ms"])
    return times


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
time.sleep(1)  # (the last access-log lines)
server = server_times()
print("client: around each request; server: the access log's duration_ms of the same request")
print(f"{'page':28} {'n':>5} {'KB max':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'srv p50':>8} {'srv p99':>8} {'srv max':>8}")


def row(name, mine):
    lat = [s[1] for s in mine]
    srv = [server[s[4]] for s in mine if s[4] in server] or [float("nan")]
    kb = f"{max(s[3] for s in mine) / 1024:7.1f}" if name != "all pages" else " " * 7
    print(f"{name:28} {len(mine):5} {kb} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} {max(lat):8.1f} {pct(srv, 50):8.1f} {pct(srv, 99):8.1f} {max(srv):8.1f}")


for path in sorted({s[0] for s in samples}):
    row(path, [s for s in samples if s[0] == path])
row("all pages", samples)
base_srv = [server[s[4]] for s in base if s[4] in server]
lat = [s[1] for s in samples]
srv_text = f"baseline server p50 {pct(base_srv, 50):.2f} ms, p99 {pct(base_srv, 99):.2f} ms" if base_srv else "(GET /health is not in the access log)"
print(f"p99 / baseline p99: client {pct(lat, 99) / base99:.1f}; {srv_text}")
