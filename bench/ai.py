"""The AI engines as HealthHub runs them (bench/ai): the same programs, arguments and worker
script, timed from outside, and speech end to end through a real server's message page."""
import base64, json, os, re, statistics, subprocess, sys, time
import requests
from sessions import credentials, sign_in

root, work, python = sys.argv[1], sys.argv[2], sys.argv[3]
worker_script = os.path.join(os.path.dirname(__file__), "..", "Sources/AI/Workers/engine_worker.py")
THIRTY = ("Please arrive fifteen minutes before your appointment on Tuesday, bring a list of your medicines, "
          "and tell the nurse if you have had a fever or a cough this week.")
assert len(THIRTY.split()) == 30


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter(); fn(); out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[min(len(out) - 1, int(round(0.99 * (len(out) - 1))))]


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Worker:
    def __init__(self, kind):
        self.p = subprocess.Popen([python, worker_script, kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        t = time.perf_counter(); self.ready = json.loads(self.p.stdout.readline()); self.start_s = time.perf_counter() - t
        self.n = 0

    def call(self, request):
        self.n += 1
        self.p.stdin.write(json.dumps({"id": self.n, **request}) + "\n"); self.p.stdin.flush()
        answer = json.loads(self.p.stdout.readline())
        assert answer.get("ok"), answer
        return answer

    def close(self):
        self.p.stdin.close(); self.p.wait()


print(f"machine: {os.cpu_count()} cores; each figure is the median (p50) and p99 of the runs")
p50, p99 = timed(lambda: subprocess.run(["espeak-ng", "--stdin", "--stdout", "-v", "en-us"], input=THIRTY.encode(), capture_output=True, check=True), 20)
print(f"TTS espeak-ng, 30 words (process per call):      p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
piper = Worker("piper")
p50, p99 = timed(lambda: piper.call({"op": "speak", "text": THIRTY}), 10)
print(f"TTS Piper, 30 words (long-lived worker):         p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  (worker start {piper.start_s:.1f} s)")
audio = base64.b64decode(piper.call({"op": "speak", "text": THIRTY + " " + THIRTY})["audio"])
whisper = Worker("whisper")
rtfs = []
for _ in range(5):
    t = time.perf_counter(); heard = whisper.call({"op": "transcribe", "audio": base64.b64encode(audio).decode(), "language": "en"})
    rtfs.append((time.perf_counter() - t) / heard["duration"])
print(f"STT faster-whisper tiny.en, {heard['duration']:.1f} s of Piper speech: real-time factor median {statistics.median(rtfs):.3f} (max {max(rtfs):.3f}); worker start {whisper.start_s:.1f} s")
print(f"worker memory (RSS): Piper {rss_mb(piper.p.pid):.0f} MB, whisper {rss_mb(whisper.p.pid):.0f} MB")
piper.close(); whisper.close()
page = open(os.path.join(os.path.dirname(__file__), "..", "Tests/AITests/Fixtures/prescription.png"), "rb").read()
env = dict(os.environ, OMP_THREAD_LIMIT="1")
p50, p99 = timed(lambda: subprocess.run(["tesseract", "stdin", "stdout", "-l", "eng", "tsv"], input=page, capture_output=True, check=True, env=env), 10)
print(f"OCR Tesseract, one 1400x260 page (2 lines):      p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
p50, p99 = timed(lambda: subprocess.run(["apertium", "-u", "-f", "html-noent", "eng-spa"], input=THIRTY.encode(), capture_output=True, check=True), 10)
print(f"Translation Apertium eng-spa, 30 words:          p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")

# End to end: a patient's message page speaks a message, through the server (session, access
# check, FHIR read, audit, espeak-ng), against /health on the same server in the same session.
text, creds = credentials(work)
patient = sign_in(root, creds, "patient")
sent = patient.get(root + "/portal/messages")
csrf = re.search(r'name="csrf" value="([^"]*)"', sent.text).group(1)
reply = patient.post(root + "/portal/messages", data={"csrf": csrf, "kind": "general", "topic": "Bench", "text": THIRTY}, allow_redirects=False)
thread = re.search(r"/portal/messages/([0-9a-f-]+)", reply.headers["Location"]).group(1)
base50, base99 = timed(lambda: requests.get(root + "/health"), 50)
p50, p99 = timed(lambda: patient.get(root + f"/portal/messages/{thread}/listen/{thread}").raise_for_status(), 30)
print(f"server: GET /health baseline                     p50 {base50:7.1f} ms  p99 {base99:7.1f} ms")
print(f"server: a message spoken (listen page, 30 words): p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({p50 / base50:.0f}x the baseline p50)")
p50, p99 = timed(lambda: patient.get(root + f"/portal/messages/{thread}?translate=1&lang=es").raise_for_status(), 10)
print(f"server: the thread page translated (lang=es):     p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
