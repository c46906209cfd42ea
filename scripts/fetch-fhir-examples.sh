#!/usr/bin/env bash
# Fetches the official FHIR R4 example package (hl7.fhir.r4.examples 4.0.1, CC0) from the
# npm registry into target/fhir-examples/package. Test data only; never needed to build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/target/fhir-examples"
if [ -f "$dest/package/Patient-example.json" ]; then exit 0; fi
mkdir -p "$dest"
cd "$dest"
npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null
tar xzf hl7.fhir.r4.examples-4.0.1.tgz
rm -f hl7.fhir.r4.examples-4.0.1.tgz
echo "official FHIR R4 examples in $dest/package"
