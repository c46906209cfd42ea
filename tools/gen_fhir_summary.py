#!/usr/bin/env python3
"""Derives data/fhir/summary-elements.json from the official R4 StructureDefinitions:
for each resource type, the top-level elements marked isSummary (what `_summary=true`
keeps). Usage: gen_fhir_summary.py PACKAGE_DIR OUT.json
PACKAGE_DIR is the unpacked npm package hl7.fhir.r4.examples 4.0.1 (CC0)."""
import json
import os
import sys


def main(package_dir, out_path):
    summary = {}
    for name in sorted(os.listdir(package_dir)):
        if not name.startswith("StructureDefinition-") or not name.endswith(".json"):
            continue
        with open(os.path.join(package_dir, name), encoding="utf-8") as f:
            sd = json.load(f)
        if sd.get("kind") != "resource" or sd.get("derivation") != "specialization":
            continue
        rtype = sd["type"]
        keep = []
        for element in sd.get("snapshot", {}).get("element", []):
            path = element["path"]
            parts = path.split(".")
            if len(parts) != 2 or not element.get("isSummary"):
                continue
            keep.append(parts[1].replace("[x]", ""))
        summary[rtype] = sorted(set(keep))
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(summary, f, separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
