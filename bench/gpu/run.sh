#!/usr/bin/env bash
# Runs bench/gpu on a GPU machine that has no Node and no network, from the repo root:
#   bash bench/gpu/run.sh [gpubench options]     (default: --backend webgpu, lengths 1024,4096,8192, full and LoRA)
# Needs bench/gpu/dist from bench/gpu/build.sh (carried). Unpacks Node, dawn.node and the Vulkan
# loader into $GPUBENCH_TMP (default /tmp/gpubench), finds the NVIDIA Vulkan ICD, prints
# diagnostics, runs the bench (each stage in a child with its own timeout; the whole run bounded by
# GPUBENCH_TIMEOUT seconds, default 360), prints a markdown table, and writes gpubench.json,
# run.log and nvidia-smi samples to $OUT when it is set.
# Env: GPUBENCH_TIMEOUT, GPUBENCH_DEADLINE (seconds the bench starts new stages, default 300),
#      VK_DRIVER_FILES / VK_ICD_FILENAMES (skip the ICD search), DAWN_FLAGS (Dawn toggles, space-separated).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
D=bench/gpu/dist
W=${GPUBENCH_TMP:-/tmp/gpubench}
OUTDIR=${OUT:-}
mkdir -p "$W/lib" "$W/fallback"
LOG="$W/run.log"
: > "$LOG"
say() { echo "[run.sh $(date -u +%T)] $*" | tee -a "$LOG" >&2; }
finish() { # copy what we have to $OUT, always
  if [ -n "$OUTDIR" ]; then mkdir -p "$OUTDIR"; cp -f "$LOG" "$OUTDIR/run.log" 2>/dev/null; [ -f "$W/nvsmi.csv" ] && cp -f "$W/nvsmi.csv" "$OUTDIR/nvidia-smi.csv"; fi
}
trap finish EXIT

for f in gpubench.mjs node.xz dawn.node.xz libvulkan.so.1.xz; do
  [ -f "$D/$f" ] || { say "missing $D/$f: run bash bench/gpu/build.sh on the build machine and carry bench/gpu/dist"; exit 2; }
done
[ -f "$D/MANIFEST.txt" ] && sed 's/^/  manifest: /' "$D/MANIFEST.txt" | tee -a "$LOG" >&2

unxz_to() { # src dest
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2"
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"
  elif command -v busybox >/dev/null 2>&1; then busybox xz -dc "$1" > "$2"
  else say "no xz, python3 or busybox to unpack $1"; return 1; fi
}
t0=$(date +%s)
unxz_to "$D/node.xz" "$W/node" && chmod +x "$W/node" || exit 2
unxz_to "$D/dawn.node.xz" "$W/dawn.node" || exit 2
unxz_to "$D/libvulkan.so.1.xz" "$W/lib/libvulkan.so.1" || exit 2
if [ -f "$D/fallback-libs.tar.xz" ]; then
  (command -v xz >/dev/null 2>&1 && tar -C "$W/fallback" -xJf "$D/fallback-libs.tar.xz") \
    || python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$D/fallback-libs.tar.xz" "$W/fallback" 2>/dev/null || true
fi
say "unpacked into $W in $(( $(date +%s) - t0 )) s"

say "machine: $(uname -srm); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); $(ldd --version 2>&1 | head -1); $(nproc) CPUs"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,utilization.gpu --format=csv 2>&1 | sed 's/^/  nvidia-smi: /' | tee -a "$LOG" >&2
else say "no nvidia-smi"; fi

# The Vulkan loader: ours, unless the machine has one.
if ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then say "system libvulkan.so.1 found (ldconfig); ours on LD_LIBRARY_PATH after it"; LIBS="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$W/lib"
else LIBS="$W/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do [ -d "$d" ] && LIBS="$LIBS:$d"; done
export LD_LIBRARY_PATH="${LIBS#:}"

# The NVIDIA Vulkan ICD (driver manifest).
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  ICD=""
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
           /usr/local/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json /etc/vulkan/icd.d/nvidia_icd.x86_64.json \
           /usr/local/nvidia/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$f" ] && { ICD=$f; break; }
  done
  if [ -z "$ICD" ]; then
    say "no nvidia_icd.json in the usual places; searching / (20 s max)"
    ICD=$(timeout 20 find / -xdev \( -path /proc -o -path /sys -o -path "$PWD" \) -prune -o -name 'nvidia_icd*.json' -print 2>/dev/null | head -1)
  fi
  if [ -z "$ICD" ]; then
    GLX=$( (ldconfig -p 2>/dev/null | grep -o '/[^ ]*libGLX_nvidia.so.0' | head -1) || true)
    [ -z "$GLX" ] && GLX=$(timeout 20 find / -xdev \( -path /proc -o -path /sys \) -prune -o -name 'libGLX_nvidia.so.0' -print 2>/dev/null | head -1)
    if [ -n "$GLX" ]; then
      ICD="$W/nvidia_icd.json"
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$GLX" > "$ICD"
      say "no ICD manifest found; wrote $ICD for $GLX"
    else say "no nvidia_icd.json and no libGLX_nvidia.so.0 found: Dawn will likely find no adapter"; fi
  fi
  if [ -n "$ICD" ]; then export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD"; say "ICD $ICD: $(tr -d '\n ' < "$ICD" | head -c 300)"; fi
fi

# Can the carried Node start? If not (no libstdc++ / too old), retry with the carried fallbacks.
if ! "$W/node" --version >/dev/null 2>&1; then
  say "node did not start: $("$W/node" --version 2>&1 | head -2 | tr '\n' ' '); trying the fallback libstdc++/libgcc_s"
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$W/fallback"
  "$W/node" --version >/dev/null 2>&1 || { say "node still does not start; ldd: $(ldd "$W/node" 2>&1 | grep -i 'not found' | tr '\n' ' ')"; exit 2; }
fi
if ldd "$W/dawn.node" 2>/dev/null | grep -q 'not found'; then
  say "dawn.node has missing libraries: $(ldd "$W/dawn.node" | grep 'not found' | tr '\n' ' '); adding the fallback libs"
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$W/fallback"
fi
say "node $("$W/node" --version); LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

# GPU memory, sampled every 0.5 s while the bench runs (all processes on the GPU; the peak is printed).
NVPID=""
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader,nounits -lms 500 > "$W/nvsmi.csv" 2>/dev/null &
  NVPID=$!
fi

JSON_ARGS=()
[ -n "$OUTDIR" ] && { mkdir -p "$OUTDIR"; JSON_ARGS=(--json "$OUTDIR/gpubench.json"); }
has_backend=0; for a in "$@"; do [ "$a" = "--backend" ] && has_backend=1; done
BACKEND_ARGS=(); [ $has_backend = 0 ] && BACKEND_ARGS=(--backend webgpu)
say "running: node $D/gpubench.mjs ${BACKEND_ARGS[*]:-} --dawn $W/dawn.node --deadline ${GPUBENCH_DEADLINE:-300} ${JSON_ARGS[*]:-} $*"
timeout -k 10 "${GPUBENCH_TIMEOUT:-360}" "$W/node" "$D/gpubench.mjs" ${BACKEND_ARGS[@]+"${BACKEND_ARGS[@]}"} --dawn "$W/dawn.node" --deadline "${GPUBENCH_DEADLINE:-300}" ${JSON_ARGS[@]+"${JSON_ARGS[@]}"} "$@" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && say "the bench hit GPUBENCH_TIMEOUT=${GPUBENCH_TIMEOUT:-360} s"
if [ -n "$NVPID" ]; then
  kill "$NVPID" 2>/dev/null; wait "$NVPID" 2>/dev/null
  peak=$(awk -F', *' '$2+0 > m { m = $2+0 } END { print m+0 }' "$W/nvsmi.csv")
  base=$(head -1 "$W/nvsmi.csv" | awk -F', *' '{ print $2+0 }')
  say "nvidia-smi memory.used: peak $peak MiB during the run (at start $base MiB; all processes)"
fi
say "exit $rc"
exit "$rc"
