#!/usr/bin/env python3
"""Writes Sources/Identity/Resources/common-passwords.txt: the 30,000 most common passwords of
the MIT-licensed zxcvbn frequency lists (from leaked-password corpora), lower-cased, one per line.

    python3 -m pip download zxcvbn==4.5.0 --no-deps -d /tmp/zx && (cd /tmp/zx && unzip -oq zxcvbn-*.whl)
    PYTHONPATH=/tmp/zx python3 scripts/gen-common-passwords.py
"""
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

out = Path(__file__).resolve().parent.parent / "Sources/Identity/Resources/common-passwords.txt"
seen: set[str] = set()
lines = []
for word in FREQUENCY_LISTS["passwords"]:
    w = word.strip().lower()
    if w and w not in seen:
        seen.add(w)
        lines.append(w)
out.write_text("\n".join(lines) + "\n")
print(f"{len(lines)} passwords -> {out}")
