#!/usr/bin/env bash
# Prepared GPU benchmark (issue: compute backends). On an NVIDIA machine: LeNet-5-BN and the MLP at batch 128 on
# WebGPU (Dawn over Vulkan), next to wasm (and PyTorch when python3 has torch), measured in one run by
# scripts/bench-backends.ts. Also tries tfjs-node-gpu (cuda) when its libtensorflow is installed.
# Needs: node 20+, this repository with `npm ci` done (node_modules can be carried over), the NVIDIA driver's Vulkan ICD.
# Usage: bash scripts/bench-gpu.sh [steps]   (prints the environment, then the table; exit 0 even if a backend is missing)
set -uo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-20}"
echo "== machine"; date -u; uname -a
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null
[ -d node_modules ] || npm ci --no-audit --no-fund
echo "== WebGPU adapter (Dawn, Vulkan)"
LOPPER_WEBGPU_FLAGS="${LOPPER_WEBGPU_FLAGS:-backend=vulkan}" timeout 120 node --input-type=module -e "
  const { create } = await import('webgpu');
  const gpu = create((process.env.LOPPER_WEBGPU_FLAGS ?? '').split(',').filter(Boolean));
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  console.log(a ? JSON.stringify({ vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description }) : 'no adapter');
  process.exit(0);
" || echo "adapter probe failed"
echo "== benchmark (3 paired rounds of ${STEPS} timed steps)"
LOPPER_WEBGPU_FLAGS="${LOPPER_WEBGPU_FLAGS:-backend=vulkan}" timeout 540 npx tsx scripts/bench-backends.ts --steps="$STEPS" --rounds=3 --backends=webgpu,cuda,wasm
