#!/usr/bin/env bash
# Build the virtual environment the Tractus-X SDK test runs in (tests/interop/test_dtr_tractusx_sdk.py).
# The SDK's wheel declares Python >= 3.12 and pins FastAPI < 0.121 and httpx < 0.29, so it cannot join the
# project's environment; on this machine's 3.11 it installs with --ignore-requires-python and runs.
# Usage: scripts/tractusx-sdk-venv.sh [VENV_DIR]   (default var/tractusx-sdk-venv; about 100 s from PyPI)
set -euo pipefail
venv="${1:-var/tractusx-sdk-venv}"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --ignore-requires-python "tractusx-sdk==0.8.3"
"$venv/bin/python" -c "import tractusx_sdk.industry.services.aas_service" && echo "tractusx-sdk ready in $venv"
