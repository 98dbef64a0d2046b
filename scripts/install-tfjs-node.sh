#!/usr/bin/env bash
# Makes the native TensorFlow backend (@tensorflow/tfjs-node) loadable, from npm + PyPI alone.
# The package's own install script downloads libtensorflow 2.9.1 and a prebuilt addon from
# storage.googleapis.com; instead (docs/learner.md, "Backend"):
#   1. the package itself comes from `npm ci --ignore-scripts` (a pinned dependency);
#   2. the TF C API from PyPI's tensorflow-cpu wheel (libtensorflow_cc.so.2 exports TF_*/TFE_*),
#      pinned by version and SHA-256, kept in the cache;
#   3. the two libraries (stripped) and the C headers into the package's deps/;
#   4. the addon built from the package's binding/*.cc with npm's bundled node-gyp against the
#      local Node headers; its rpath $ORIGIN/../../deps/lib finds the libraries.
# Idempotent: exits at once when the addon already loads. Cached under $TROUPE_CACHE_DIR
# (default ~/.cache/troupe): the wheel, the stripped libraries and headers, the built addon; a
# warm install copies (hard-links where it can) them in. Exits non-zero with the reason on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

TFJS_NODE_VERSION=4.22.0
TF_WHEEL_VERSION=2.18.1
TF_WHEEL=tensorflow_cpu-${TF_WHEEL_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
TF_WHEEL_SHA256=810c75d7149d2da0cb2092187817b0dcabb80728ca9f9cf3a61f3f42fadd1298
NAPI_VERSION=8   # node-pre-gyp picks the highest of the package's napi_versions (3–8) the Node supports

pkg=node_modules/@tensorflow/tfjs-node
cache_root="${TROUPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/troupe}"
cache="$cache_root/tfjs-node-${TFJS_NODE_VERSION}-tf${TF_WHEEL_VERSION}"
addon_dir="$pkg/lib/napi-v${NAPI_VERSION}"
python="${TROUPE_PYTHON:-python3}"

fail() { echo "install-tfjs-node: $*" >&2; exit 1; }
log() { echo "install-tfjs-node: $*"; }

loads() { node -e "require('@tensorflow/tfjs-node')" >/dev/null 2>&1; }

[ -f "$pkg/package.json" ] || fail "$pkg is missing; run 'npm ci --ignore-scripts' first (npm run setup does)"
installed=$(node -p "require('./$pkg/package.json').version")
[ "$installed" = "$TFJS_NODE_VERSION" ] || fail "$pkg is $installed, this script builds $TFJS_NODE_VERSION (update both together)"
[ "$(uname -sm)" = "Linux x86_64" ] || fail "only Linux x86_64 is supported (the wheel is manylinux x86_64); set TROUPE_ALLOW_WASM_ONLY=1 to run on wasm"

if loads; then log "already installed ($pkg loads)"; exit 0; fi

mkdir -p "$cache"
t0=$(date +%s)

# Libraries and headers: from the cache, or extracted from the wheel (downloaded once).
if [ ! -f "$cache/deps/.complete" ]; then
  for tool in unzip strip; do command -v $tool >/dev/null || fail "$tool is not installed (Debian: apt-get install -y unzip binutils)"; done
  wheel="$cache/$TF_WHEEL"
  if [ ! -f "$wheel" ] || [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$TF_WHEEL_SHA256" ]; then
    log "downloading tensorflow-cpu==$TF_WHEEL_VERSION from PyPI (230 MB)"
    rm -f "$wheel"
    "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
      --python-version 3.11 --platform manylinux_2_17_x86_64 \
      -d "$cache" "tensorflow-cpu==$TF_WHEEL_VERSION" >&2 || fail "$python -m pip download tensorflow-cpu==$TF_WHEEL_VERSION failed (see above; TROUPE_PYTHON picks the Python)"
    [ -f "$wheel" ] || fail "pip download produced no $TF_WHEEL in $cache"
    got=$(sha256sum "$wheel" | cut -d' ' -f1)
    [ "$got" = "$TF_WHEEL_SHA256" ] || { rm -f "$wheel"; fail "checksum mismatch for $TF_WHEEL: got $got, expected $TF_WHEEL_SHA256"; }
  fi
  log "extracting the C API from the wheel"
  tmp="$cache/deps.tmp"; rm -rf "$tmp"; mkdir -p "$tmp/lib" "$tmp/include"
  unzip -q -o "$wheel" -d "$tmp/whl" 'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' \
    'tensorflow/include/tsl/platform/*' 'tensorflow/include/xla/tsl/c/*' || fail "unzip of $wheel failed"
  # Debug symbols only: ~190 of 680 MB. Dynamic symbols stay (the addon links against them).
  strip --strip-unneeded -o "$tmp/lib/libtensorflow_cc.so.2" "$tmp/whl/tensorflow/libtensorflow_cc.so.2"
  strip --strip-unneeded -o "$tmp/lib/libtensorflow_framework.so.2" "$tmp/whl/tensorflow/libtensorflow_framework.so.2"
  # The link names binding.gyp asks for (-ltensorflow -ltensorflow_framework); at run time the
  # addon asks for the sonames (libtensorflow_cc.so.2, libtensorflow_framework.so.2).
  ln -s libtensorflow_cc.so.2 "$tmp/lib/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$tmp/lib/libtensorflow_framework.so"
  mv "$tmp/whl/tensorflow/include/"* "$tmp/include/"
  rm -rf "$tmp/whl"
  touch "$tmp/.complete"
  rm -rf "$cache/deps"; mv "$tmp" "$cache/deps"
fi

# Into the package: hard links where the cache is on the same filesystem, else copies.
rm -rf "$pkg/deps"
cp -al "$cache/deps" "$pkg/deps" 2>/dev/null || { rm -rf "$pkg/deps"; cp -a "$cache/deps" "$pkg/deps"; }

# The addon: N-API, so one build serves every Node with N-API 8; rebuilt when binding sources change.
src_hash=$(cat "$pkg/binding.gyp" "$pkg"/binding/*.cc "$pkg"/binding/*.h | sha256sum | cut -c1-16)
cached_addon="$cache/addon-$src_hash/tfjs_binding.node"
if [ ! -f "$cached_addon" ]; then
  for tool in g++ make; do command -v $tool >/dev/null || fail "$tool is not installed (Debian: apt-get install -y g++ make)"; done
  node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$node_gyp" ] || fail "npm's bundled node-gyp is not at $node_gyp"
  nodedir="${TROUPE_NODEDIR:-}"
  if [ -z "$nodedir" ]; then
    # Local headers (Debian's nodejs ships them in /usr/include/node); node-gyp would download them.
    for d in /usr /usr/local "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"; do
      [ -f "$d/include/node/node_api.h" ] && { nodedir=$d; break; }
    done
  fi
  [ -n "$nodedir" ] || fail "no Node headers (include/node/node_api.h) found; install them (Debian: apt-get install -y libnode-dev) or set TROUPE_NODEDIR"
  log "building the addon (node-gyp, nodedir=$nodedir)"
  (cd "$pkg" && node "$node_gyp" rebuild --nodedir="$nodedir" --module_name=tfjs_binding \
     --module_path="$PWD/lib/napi-v$NAPI_VERSION" --napi_build_version=$NAPI_VERSION -j "$(nproc)" >&2) \
    || fail "node-gyp build of the tfjs-node addon failed (see above)"
  [ -f "$addon_dir/tfjs_binding.node" ] || fail "node-gyp finished but $addon_dir/tfjs_binding.node is missing"
  mkdir -p "$(dirname "$cached_addon")"
  cp "$addon_dir/tfjs_binding.node" "$cached_addon.tmp" && mv "$cached_addon.tmp" "$cached_addon"
  rm -rf "$pkg/build"
else
  mkdir -p "$addon_dir"
  cp "$cached_addon" "$addon_dir/tfjs_binding.node"
fi

err=$(node -e "require('@tensorflow/tfjs-node')" 2>&1 >/dev/null) || fail "the addon was built but does not load: $err"
log "done in $(( $(date +%s) - t0 )) s ($(du -sh "$pkg/deps" | cut -f1) in $pkg/deps)"
