#!/usr/bin/env bash
# Prepared GPU benchmark (issue: compute backends). On an NVIDIA machine: LeNet-5-BN and the MLP at batch 128 on WebGPU
# (Dawn over Vulkan), measured by scripts/bench-backends.ts in two runs:
#   1. WebGPU against PyTorch CUDA on the same GPU (when python3 has torch with CUDA), paired rounds;
#   2. WebGPU and wasm against PyTorch on one CPU thread, as `npm run bench:backends` does here.
# Both also try tfjs-node-gpu (cuda) where it is installed (never in the bundle: npm cannot install it here).
# Where this repository has no node_modules (a lent GPU machine: no registry, nothing can be fetched), it runs the bundle that
# `bash scripts/pack-gpu-bench.sh` made in .gpu-bench/ (carry that folder), unpacking Node and the Vulkan loader if missing.
# Usage: bash scripts/bench-gpu.sh [steps]   (prints the environment, then the tables and a WebGPU step profile; exits 0 even if a backend is missing)
set -uo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-20}"
BUNDLE=.gpu-bench
unxz_to() { xz -dc "$1" > "$2" 2>/dev/null || python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

echo "== machine"; date -u; uname -a
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

if [ -d node_modules ]; then
  NODE=node; BENCH=(npx tsx scripts/bench-backends.ts); PROFILE=(npx tsx scripts/profile-step.ts)
elif [ -f "$BUNDLE/bench.mjs" ]; then
  NODE=node
  if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
    NODE=/tmp/lopper-node/node; mkdir -p /tmp/lopper-node
    [ -x "$NODE" ] || { unxz_to "$BUNDLE/node.xz" "$NODE" && chmod +x "$NODE"; }
  fi
  DAWN="$BUNDLE/node_modules/webgpu/dist/linux-x64/dawn.node"
  [ -f "$DAWN" ] || unxz_to "$DAWN.xz" "$DAWN"
  BENCH=("$NODE" "$BUNDLE/bench.mjs"); PROFILE=("$NODE" "$BUNDLE/profile.mjs")
  echo "bundle packed from commit $(cat "$BUNDLE/commit" 2>/dev/null || echo unknown) (re-pack after changing the code)"
else
  echo "no node_modules and no $BUNDLE/bench.mjs: run npm ci, or bash scripts/pack-gpu-bench.sh here and carry $BUNDLE"; exit 0
fi
echo "node $("$NODE" --version)"

# The Vulkan loader (libvulkan.so.1) and the NVIDIA ICD that Dawn needs.
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$BUNDLE"/libvulkan1_*.deb; do [ -f "$f" ] && dpkg -x "$f" / && echo "installed the Vulkan loader from $f"; done
  ldconfig
fi
ICD=$(ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* 2>/dev/null | head -1)
if [ -z "$ICD" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json # vulkan-headless.ts looks there too
fi
echo "Vulkan ICD: ${ICD:-none found}"
# Headless NVIDIA (no display): the worker's WebGPU set-up points the Vulkan loader at the driver's EGL library itself
# (workers/src/backends/vulkan-headless.ts); the adapter it finds is named on the "webgpu:" lines below.
export LOPPER_WEBGPU_FLAGS="${LOPPER_WEBGPU_FLAGS:-backend=vulkan}"

echo "== 1. WebGPU against PyTorch CUDA on this GPU (3 paired rounds of ${STEPS} timed steps)"
if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  timeout 240 "${BENCH[@]}" --steps="$STEPS" --rounds=3 --backends=webgpu,cuda --torch-device=cuda
else
  echo "python3 has no torch with CUDA here: skipped"
fi
echo "== 2. WebGPU and wasm against PyTorch on one CPU thread (3 paired rounds of ${STEPS} timed steps)"
timeout 240 "${BENCH[@]}" --steps="$STEPS" --rounds=3 --backends=webgpu,cuda,wasm --torch-device=cpu
echo "== 3. Per-kernel profile of a LeNet-5 training step on WebGPU (host time per kernel call), with Lopper's WebGPU kernels, then TF.js's alone"
timeout 120 "${PROFILE[@]}" --backend=webgpu --model=lenet5 --steps=10 2>&1 | grep -v '^\s*at \|^$' | head -20
timeout 120 "${PROFILE[@]}" --backend=webgpu --model=lenet5 --steps=10 --stock 2>&1 | grep -v '^\s*at \|^$' | head -12
exit 0
