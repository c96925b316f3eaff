#!/usr/bin/env bash
# Packs what scripts/bench-gpu.sh needs on a machine that has no npm registry, no node_modules and maybe no Node (the lent
# GPU machines: nothing outside them can be reached, and node_modules, ~900 MB, is far over what may travel there):
#   bench.mjs                    scripts/bench-backends.ts and everything it imports (TF.js, Lopper's kernels) in one ES module
#   profile.mjs                  scripts/profile-step.ts, the same way
#   tfjs-backend-wasm*.wasm      the TF.js WASM binaries, found beside bench.mjs
#   node_modules/webgpu/         Dawn's Node binding (linux-x64 only; dawn.node xz-compressed)
#   node.xz                      this machine's Node binary (x86-64 Linux, glibc), for a machine without Node 20+
#   libvulkan1_*.deb             the Vulkan loader, for a machine without one (dpkg -x, then ldconfig)
# About 33 MB. Usage: bash scripts/pack-gpu-bench.sh [outdir] [--no-node]   (outdir defaults to .gpu-bench, which git ignores)
# --no-node leaves out node.xz and the .deb (for the test that runs the bundle here).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.gpu-bench
WITH_NODE=1
for a in "$@"; do
  case "$a" in
    --no-node) WITH_NODE=0 ;;
    -*) echo "unknown option $a" >&2; exit 2 ;;
    *) OUT="$a" ;;
  esac
done
[ "$(uname -m)" = x86_64 ] || { echo "pack-gpu-bench: the GPU machines are x86-64; this machine is $(uname -m), its Node and Dawn would not run there" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/node_modules/webgpu/dist/linux-x64"

# One ES module. --ignore-annotations: TF.js marks its backend registrations side-effect free, which would drop them.
# webgpu stays external (it loads dawn.node from beside its own index.js); tfjs-node(-gpu) are optional native packages
# (libtensorflow: hundreds of MB, over what may travel to the GPU machine), so they stay external and the bundle reports
# them unavailable. The banner gives the bundled
# CommonJS code (the TF.js WASM loader) require, __filename and __dirname, so the .wasm files are found beside bench.mjs.
BANNER="import { createRequire as __lopperRequire } from 'node:module'; import { fileURLToPath as __lopperPath } from 'node:url'; \
import { dirname as __lopperDir } from 'node:path'; const require = __lopperRequire(import.meta.url); \
const __filename = __lopperPath(import.meta.url); const __dirname = __lopperDir(__filename);"
bundle() { # $1: entry script, $2: output file in $OUT
  npx esbuild "$1" --bundle --ignore-annotations --platform=node --format=esm --target=node20 \
    --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    "--banner:js=$BANNER" --outfile="$OUT/$2" --log-level=warning
}
bundle scripts/bench-backends.ts bench.mjs
bundle scripts/profile-step.ts profile.mjs # per-kernel times of a step on the GPU (bench-gpu.sh prints LeNet-5's on WebGPU)
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$OUT/"
{ git rev-parse --short HEAD 2>/dev/null || echo unknown; } > "$OUT/commit"
[ -z "$(git status --porcelain 2>/dev/null)" ] || echo "+ uncommitted changes" >> "$OUT/commit"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$OUT/node_modules/webgpu/"
if [ "$WITH_NODE" = 1 ]; then
  xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$OUT/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
  xz -T0 -6 -c "$(command -v node)" > "$OUT/node.xz"
  node --version > "$OUT/node.version"
  (cd "$OUT" && apt-get download -qq libvulkan1 2>/dev/null) \
    || echo "pack-gpu-bench: apt-get download libvulkan1 failed; the GPU machine then needs its own Vulkan loader" >&2
else
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$OUT/node_modules/webgpu/dist/linux-x64/"
fi
du -sh "$OUT"
echo "packed $OUT. bash scripts/bench-gpu.sh runs the bundle in .gpu-bench/ of the repository root (on a lent GPU machine: a device run with carry [\".gpu-bench\"])"
