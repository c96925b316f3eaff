import { SIMD_FMA_SETTINGS, type SimdFmaSetting } from './backends/simd.js';
import type { ProcessCount } from './supervisor.js';

/** Worker environment, validated once at start. */
export interface WorkerConfig {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  backend?: string;
  /** The WASM kernels' fused multiply-add build (LOPPER_WASM_FMA): auto (default), on, off. */
  wasmFma: SimdFmaSetting;
  artifacts?: string;
  /** Also run the workflow worker in this process (default true). */
  runWorkflows: boolean;
  /** Poll the GPU task queue instead of the CPU one (LOPPER_GPU=1/0); unset: yes when the backend runs on a GPU (cuda, webgpu). */
  gpu?: boolean;
  maxConcurrentActivities: number;
  /**
   * Worker processes `npm run worker` starts (LOPPER_WORKER_PROCESSES): a count, or auto (default): one per core on a CPU
   * backend (WASM, cpu and tfjs-node run one thread per process), one on a GPU backend, all supervised (started again
   * when one dies). 1 runs the worker in this process, unsupervised.
   */
  processes: ProcessCount;
  /**
   * Seconds a stopping worker (SIGTERM, SIGINT) lets its running baselines and trials go on to finish
   * (LOPPER_SHUTDOWN_GRACE, default 0); what is still running then is handed back, and the workflow schedules it again.
   */
  shutdownGraceSeconds: number;
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const missing = ['DATABASE_URL', 'TEMPORAL_ADDRESS'].filter((k) => !env[k]);
  if (missing.length) throw new Error(`worker: missing environment variable(s): ${missing.join(', ')}`);
  const conc = Number(env.LOPPER_WORKER_CONCURRENCY ?? '1');
  if (!Number.isInteger(conc) || conc < 1) throw new Error(`LOPPER_WORKER_CONCURRENCY must be a positive integer, got "${env.LOPPER_WORKER_CONCURRENCY}"`);
  const grace = Number(env.LOPPER_SHUTDOWN_GRACE || '0');
  if (!(Number.isFinite(grace) && grace >= 0)) throw new Error(`LOPPER_SHUTDOWN_GRACE must be a number of seconds >= 0, got "${env.LOPPER_SHUTDOWN_GRACE}"`);
  const procs = env.LOPPER_WORKER_PROCESSES || 'auto';
  if (procs !== 'auto' && !/^[1-9]\d*$/.test(procs)) throw new Error(`LOPPER_WORKER_PROCESSES must be auto or a positive integer, got "${procs}"`);
  const fma = env.LOPPER_WASM_FMA || 'auto';
  if (!(SIMD_FMA_SETTINGS as readonly string[]).includes(fma)) throw new Error(`LOPPER_WASM_FMA must be one of ${SIMD_FMA_SETTINGS.join(', ')}, got "${fma}"`);
  return {
    databaseUrl: env.DATABASE_URL!,
    temporalAddress: env.TEMPORAL_ADDRESS!,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    backend: env.LOPPER_BACKEND || undefined,
    wasmFma: fma as SimdFmaSetting,
    artifacts: env.LOPPER_ARTIFACTS || undefined,
    runWorkflows: env.LOPPER_RUN_WORKFLOWS !== '0',
    gpu: env.LOPPER_GPU === undefined || env.LOPPER_GPU === '' ? undefined : env.LOPPER_GPU === '1',
    maxConcurrentActivities: conc,
    processes: procs === 'auto' ? 'auto' : Number(procs),
    shutdownGraceSeconds: grace,
  };
}
