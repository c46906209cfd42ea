#!/usr/bin/env python3
"""Ingest of Synthea bundles over HTTP: posts the hospital and practitioner bundles first
(not timed), then N patient bundles one after the other, and prints resources/s.

usage: bench/synthea_http.py BASE_URL SYNTHEA_DIR [N]   (files *.json or *.json.bz2)
"""
import bz2, json, sys, time, urllib.request
from pathlib import Path


def load(path):
    data = bz2.open(path).read() if path.suffix == ".bz2" else path.read_bytes()
    return data, len(json.loads(data)["entry"])


def post(base, body, minimal):
    req = urllib.request.Request(base, data=body, method="POST",
                                 headers={"Content-Type": "application/fhir+json",
                                          "Prefer": "return=minimal" if minimal else "return=representation"})
    with urllib.request.urlopen(req, timeout=600) as r:
        r.read()
        return r.status


def main():
    base, folder = sys.argv[1], Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    minimal = "--representation" not in sys.argv
    files = sorted(p for p in folder.iterdir() if p.name.endswith((".json", ".json.bz2")))
    providers = [p for p in files if "Information" in p.name]
    patients = [p for p in files if p not in providers][:n]
    for p in providers:
        post(base, load(p)[0], True)
    bodies = [load(p) for p in patients]
    size = sum(len(b) for b, _ in bodies)
    count = sum(c for _, c in bodies)
    start = time.time()
    for body, _ in bodies:
        assert post(base, body, minimal) == 200
    took = time.time() - start
    print(f"{len(bodies)} bundles, {count} resources, {size / 1e6:.1f} MB in {took:.1f} s: "
          f"{count / took:.0f} resources/s, {size / 1e6 / took:.2f} MB/s")


if __name__ == "__main__":
    main()
