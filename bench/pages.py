"""The measuring half of bench/pages: sessions, wrk runs, sizes, $find."""
import re, subprocess, sys, time
import requests
from sessions import credentials, sign_in

root, work, connections, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
text, creds = credentials(work)

patient, clinician = sign_in(root, creds, "patient"), sign_in(root, creds, "practitioner")
client = creds["backend client (client_credentials, system/*.cruds)"] if "backend client (client_credentials, system/*.cruds)" in creds else None
pages = [("patient", "/portal"), ("patient", "/portal/appointments"), ("patient", "/portal/records"), ("patient", "/portal/messages"),
         ("clinician", "/console"), ("clinician", "/console?view=week"), ("clinician", "/console/inbox"), ("clinician", "/console/patients")]
# a chart page of a patient in the clinician's care
chart = re.search(r'href="(/console/patients/[0-9a-f-]+)"', clinician.get(root + "/console/patients").text)
if chart:
    pages.append(("clinician", chart.group(1)))
def run(path, headers):
    args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    return subprocess.run(args + [root + path], capture_output=True, text=True).stdout


# the baseline of this session: the trivial /health route on the same server, same load
baseline = float(re.search(r"Requests/sec:\s+([\d.]+)", run("/health", [])).group(1))
print(f"baseline GET /health: {baseline:.0f} req/s at {connections} connections")
print(f"{'page':36} {'who':9} {'KB':>6} {'req/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8}")
for who, path in pages:
    s = patient if who == "patient" else clinician
    reply = s.get(root + path)
    assert reply.status_code == 200, (path, reply.status_code)
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    out = run(path, [f"Cookie: {cookie}"])
    def lat(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        v = float(m.group(1)); return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"{path[:36]:36} {who:9} {len(reply.content) / 1024:6.1f} {rps:8.0f} {rps / baseline:6.3f} {lat(50):8.1f} {lat(99):8.1f}" + (f"  ({non2xx.group(1)} non-2xx)" if non2xx else ""))

# $find over a month of the clinician's availability, through the API (a backend token)
cid = re.search(r"client_id=(\S+)", text).group(1)
secret = re.search(r"client_secret=(\S+)", text).group(1)
token = requests.post(root + "/oauth/token", auth=(cid, secret), data={"grant_type": "client_credentials"}).json()["access_token"]

day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
end = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 31 * 86400))
find = f"/fhir/Appointment/$find?start={day}T00:00:00Z&end={end}T00:00:00Z&visit-type=ROUTINE&timezone=America/New_York&_count=1000"
first = requests.get(root + find, headers={"Authorization": f"Bearer {token}"})
assert first.status_code == 200, first.text[:300]
times = len(first.json().get("entry", []))
out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{min(connections, 20)}", f"-d{duration}s", "--latency", "-H", f"Authorization: Bearer {token}", root + find],
                     capture_output=True, text=True).stdout
p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out); p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
conv = lambda m: float(m.group(1)) / 1000 if m.group(2) == "us" else float(m.group(1)) * 1000 if m.group(2) == "s" else float(m.group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
print(f"$find, 31 days, every practitioner ({times} free times)  {rate:8.0f} req/s  p50 {conv(p50):.1f} ms  p99 {conv(p99):.1f} ms")
