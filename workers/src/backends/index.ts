/**
 * Compute backend selection for a worker process.
 * - `cuda`: @tensorflow/tfjs-node-gpu (optional dependency; libtensorflow with CUDA 11.2 / cuDNN 8.1), only when it sees a GPU;
 * - `tensorflow`: @tensorflow/tfjs-node (optional dependency; native libtensorflow on the CPU);
 * - `webgpu`: @tensorflow/tfjs-backend-webgpu over Dawn (npm `webgpu`); picked automatically only on real GPU
 *   hardware, not on software rasterisers (llvmpipe, lavapipe, SwiftShader) unless LOPPER_WEBGPU_ALLOW_SOFTWARE=1;
 * - `wasm` (the CPU default, with Lopper's kernels; their fused multiply-add build where the engine takes relaxed
 *   SIMD, see configureSimd and LOPPER_WASM_FMA), `cpu` (pure JS, last resort; with Lopper's Conv2DBackpropFilter).
 * An explicit setting (argument or LOPPER_BACKEND) wins and fails loudly when it cannot start.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { installLazyFusedConvGradient } from './lazy-conv-grad.js';
import { registerCpuKernels } from './cpu-kernels.js';
import { configureSimd, simdFmaSetting, simdKernels, type SimdFmaSetting } from './simd.js';
import { useHeadlessNvidiaVulkan } from './vulkan-headless.js';
import { registerWasmKernels } from './wasm-kernels.js';
import { registerTensorflowKernels } from './tensorflow-kernels.js';
import { registerWebGpuKernels } from './webgpu-kernels.js';

export const BACKEND_NAMES = ['cuda', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  backend: BackendName;
  device: string;
  /** Automatic selection only: each backend tried before this one, with why it was passed over ("webgpu: no WebGPU adapter ..."). */
  skipped?: string[];
}

/** Kernels that training the model zoo needs on a backend. */
export const TRAINING_KERNELS = ['BatchMatMul', 'Relu', 'Softmax', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'FusedBatchNorm', 'MaxPool', 'MaxPoolGrad', 'Sum', 'Mean', 'Rsqrt', 'Tile', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'Concat', 'Add'];

/** Training kernels that `backend` lacks. */
export function missingTrainingKernels(backend: string): string[] {
  return TRAINING_KERNELS.filter((k) => !tf.getKernel(k, backend));
}

const require = createRequire(import.meta.url);
const SOFTWARE_GPU = /llvmpipe|lavapipe|swiftshader|softpipe|software/i;

/**
 * Why an optional native binding (tfjs-node / tfjs-node-gpu) cannot load, or null when it loads. npm leaves these packages
 * out where their install script cannot download libtensorflow (outside the registry); `scripts/install-tfjs-node.sh`
 * installs tfjs-node from registries only.
 */
export function optionalBindingProblem(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): string | null {
  const install = pkg === '@tensorflow/tfjs-node'
    ? 'bash scripts/install-tfjs-node.sh installs it from registries only'
    : 'scripts/install-tfjs-node.sh installs the CPU package, @tensorflow/tfjs-node, only';
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return `${pkg} is not installed (an optional dependency: its install script downloads libtensorflow from outside npm; ${install})`;
  }
  // Its addon (lib/napi-v*/tfjs_binding.node) is what the install script builds or downloads: without it, loading the
  // package would register its kernels and then fail.
  const lib = join(dir, 'lib');
  if (!existsSync(lib) || !readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')))) {
    return `${pkg} is installed without its addon and libtensorflow (its install script did not run or could not download them; ${install})`;
  }
  // TensorFlow's threads: one per worker process, as the other CPU backends run (deploy starts one process per core); a
  // caller's own TF_NUM_*_THREADS win. Read when tfjs-node creates its TensorFlow context, at load.
  process.env.TF_NUM_INTRAOP_THREADS ??= '1';
  process.env.TF_NUM_INTEROP_THREADS ??= '1';
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1'; // TensorFlow's INFO lines (oneDNN, CPU features) on stderr
  try {
    require(pkg);
    return null;
  } catch (e) {
    return `${pkg} is installed but does not load (${(e as Error).message.split('\n')[0]}; ${install})`;
  }
}

let webgpuAdapter: string | undefined;

/**
 * Installs Dawn's navigator.gpu (npm `webgpu`) and registers the TF.js WebGPU backend. Dawn options come from
 * LOPPER_WEBGPU_FLAGS (comma separated, e.g. `backend=opengles` for Mesa llvmpipe with EGL_PLATFORM=surfaceless;
 * `backend=vulkan` on NVIDIA). Returns the adapter's description, or null when there is no adapter.
 */
async function setUpWebGpu(): Promise<string | null> {
  if (webgpuAdapter !== undefined) return webgpuAdapter;
  useHeadlessNvidiaVulkan(); // before Dawn loads the Vulkan loader: NVIDIA's GLX-only manifest finds no device without a display
  let dawn: { create(flags: string[]): GPULike; globals: object };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (e) {
    throw new Error(`npm webgpu (Dawn) did not load: ${(e as Error).message}`);
  }
  const flags = (process.env.LOPPER_WEBGPU_FLAGS ?? '').split(',').filter(Boolean);
  const compat = flags.some((f) => /backend=opengl/.test(f));
  const gpu = dawn.create(flags);
  const adapter = await gpu.requestAdapter(compat ? { featureLevel: 'compatibility' } : {}).catch(() => null);
  if (!adapter) return null;
  const info = adapter.info ?? {};
  Object.assign(globalThis, dawn.globals);
  // TF.js asks navigator.gpu for an adapter; on OpenGL ES only a compatibility-mode adapter exists.
  const shim = { requestAdapter: (o?: object) => gpu.requestAdapter({ ...(o ?? {}), ...(compat ? { featureLevel: 'compatibility' } : {}) }) };
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: shim, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: shim }, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  webgpuAdapter = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return webgpuAdapter;
}

interface GPULike { requestAdapter(o?: object): Promise<{ info?: { vendor?: string; architecture?: string; device?: string; description?: string } } | null> }

async function tryBackend(name: BackendName, explicit: boolean, fma: SimdFmaSetting): Promise<BackendInfo | string> {
  const cpu = cpus()[0]?.model?.trim() ?? 'cpu';
  if (name === 'cuda' || name === 'tensorflow') {
    const pkg = name === 'cuda' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    const problem = optionalBindingProblem(pkg);
    if (problem) return problem;
    if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but its backend did not start`;
    const native = tf.backend() as unknown as { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } };
    const onGpu = native.isUsingGpuDevice === true;
    if (name === 'cuda' && !onGpu) return `${pkg} found no CUDA device`;
    registerTensorflowKernels();
    const lib = `libtensorflow ${native.binding?.TF_Version ?? ''}`.trim();
    return { backend: name, device: onGpu ? `CUDA GPU (tfjs-node-gpu, ${lib})` : `${cpu} (${lib}, ${process.env.TF_NUM_INTRAOP_THREADS} thread(s))` };
  }
  if (name === 'webgpu') {
    const adapter = await setUpWebGpu();
    if (!adapter) return 'no WebGPU adapter (npm webgpu / Dawn found none)';
    if (!explicit && SOFTWARE_GPU.test(adapter) && process.env.LOPPER_WEBGPU_ALLOW_SOFTWARE !== '1') return `WebGPU adapter "${adapter}" is a software rasteriser`;
    if (!(await tf.setBackend('webgpu'))) return 'the WebGPU backend did not start';
    registerWebGpuKernels();
    return { backend: name, device: adapter };
  }
  if (name === 'wasm') {
    const variant = configureSimd(fma);
    if (!(await tf.setBackend(name))) return `backend ${name} did not start`;
    registerWasmKernels();
    const simd = simdKernels(tf.backend() as never) ? (variant === 'fma' ? ', SIMD128 + FMA' : ', SIMD128') : '';
    return { backend: name, device: `${cpu} (wasm${simd})` };
  }
  if (!(await tf.setBackend(name))) return `backend ${name} did not start`;
  registerCpuKernels();
  return { backend: name, device: `${cpu} (${name})` };
}

/**
 * Selects the backend: `requested` (or LOPPER_BACKEND) wins; otherwise cuda, tensorflow, webgpu on real GPU
 * hardware, wasm, cpu. Checks that every kernel training needs is registered. `fma` (or LOPPER_WASM_FMA: auto, on,
 * off) chooses the WASM kernels' build (configureSimd).
 */
export async function initBackend(requested = process.env.LOPPER_BACKEND, fma = process.env.LOPPER_WASM_FMA || 'auto'): Promise<BackendInfo> {
  if (requested && !(BACKEND_NAMES as readonly string[]).includes(requested)) throw new Error(`LOPPER_BACKEND="${requested}" is not one of ${BACKEND_NAMES.join(', ')}`);
  const fmaSetting = simdFmaSetting(fma); // checked before any backend is tried: a bad value must not fall through to cpu
  const order: BackendName[] = requested ? [requested as BackendName] : [...BACKEND_NAMES];
  const skipped: string[] = [];
  for (const name of order) {
    let r: BackendInfo | string;
    try {
      r = await tryBackend(name, !!requested, fmaSetting);
    } catch (e) {
      r = (e as Error).message;
    }
    if (typeof r === 'string') {
      if (requested) throw new Error(`backend "${name}" failed to initialise: ${r}`);
      skipped.push(`${name}: ${r}`);
      continue;
    }
    await tf.ready();
    installLazyFusedConvGradient();
    const missing = missingTrainingKernels(tf.getBackend());
    if (missing.length) throw new Error(`backend ${name} lacks kernels that training needs: ${missing.join(', ')}`);
    return skipped.length ? { ...r, skipped } : r;
  }
  throw new Error(`no TensorFlow.js backend could be initialised (${skipped.join('; ')})`);
}
