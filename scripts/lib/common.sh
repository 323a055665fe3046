# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/run and bench/run. Source it; do not execute it.
#   hh_section TITLE          print a visible section header
#   hh_need_apt PKG...        apt-get install PKG... (one `apt-get update` per process, first)
#   hh_ensure_swift           put /opt/swift/usr/bin on PATH when `swift` is not found

hh_section() {
    printf '\n==== %s ====\n' "$*"
}

hh_log() {
    printf '[%s] %s\n' "$(basename "$0")" "$*" >&2
}

_HH_APT_UPDATED=0

# Install Debian packages with apt-get. Callers decide whether a package is missing
# (command -v / dpkg -s) and pass only the missing ones.
hh_need_apt() {
    [ "$#" -gt 0 ] || return 0
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo -n)
        else
            hh_log "need Debian packages: $* (not root and no sudo: install them and re-run)"
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ "$_HH_APT_UPDATED" = 0 ]; then
        hh_log "apt-get update"
        "${sudo[@]}" apt-get update -qq </dev/null
        _HH_APT_UPDATED=1
    fi
    hh_log "apt-get install -y $*"
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# hh_missing_cmd CMD PKG: echo PKG when CMD is not on PATH.
hh_missing_cmd() {
    command -v "$1" >/dev/null 2>&1 || echo "$2"
}

# hh_missing_pkg PKG: echo PKG when the Debian package is not installed.
hh_missing_pkg() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed' || echo "$1"
}

hh_ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        if [ -x /opt/swift/usr/bin/swift ]; then
            export PATH="$PATH:/opt/swift/usr/bin"
        else
            hh_log "swift not found on PATH (expected /opt/swift/usr/bin/swift)"
            return 1
        fi
    fi
}

# hh_missing_engines: the Debian packages of the AI services' offline engines that are not
# installed (docs/ai.md): espeak-ng (speech), vorbis-tools (OGG audio), Apertium with the
# English-Spanish pair (translation), Tesseract (text recognition).
hh_missing_engines() {
    hh_missing_cmd espeak-ng espeak-ng
    hh_missing_cmd oggenc vorbis-tools
    hh_missing_cmd apertium apertium
    hh_missing_pkg apertium-eng-spa
    hh_missing_cmd tesseract tesseract-ocr
}

# hh_engines_venv: the AI services' Python engines (faster-whisper, Piper) in .venv-engines,
# from Sources/AI/Workers/requirements.txt; reinstalled when that file changes.
hh_engines_venv() {
    local req=Sources/AI/Workers/requirements.txt stamp=.venv-engines/.requirements.sha256 want
    want=$( { sha256sum "$req" | cut -d' ' -f1; python3 --version 2>&1; } | sha256sum | cut -d' ' -f1)
    if [ -x .venv-engines/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        echo "engines venv up to date"
        return 0
    fi
    rm -rf .venv-engines
    python3 -m venv .venv-engines
    .venv-engines/bin/python -m pip install -q --disable-pip-version-check -r "$req"
    echo "$want" >"$stamp"
    echo "engines venv: $(.venv-engines/bin/python -m pip freeze --disable-pip-version-check | grep -iE 'faster-whisper|piper-tts|ctranslate2|onnxruntime' | tr '\n' ' ')"
}
