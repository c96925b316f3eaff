/** Creates the Temporal workers of one process: activities on its capability queue, workflows (and their bookkeeping activities) optionally. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRequire } from 'node:module';
import { CPU_TASK_QUEUE, GPU_TASK_QUEUE, WORKFLOW_TASK_QUEUE } from '../../workflows/src/constants.js';
import { createPrisma } from '../../prisma/src/client.js';
import { createActivities } from './activities.js';
import { createArtifactStore } from './artifacts.js';
import { bookkeepingOf } from './bookkeeping.js';
import { initBackend } from './backends/index.js';
import { trackActivities, type ActivityMessage } from './lost-activities.js';
import type { WorkerConfig } from './config.js';
import { WorkerRepository } from './repository.js';

const require = createRequire(import.meta.url);
export const WORKFLOWS_PATH = require.resolve('../../workflows/src/index.ts');

export interface RunningWorkers {
  run(): Promise<void>;
  shutdown(): void;
  close(): Promise<void>;
  /** The backend it computes on, and the device. */
  backend: { backend: string; device: string };
  /** Backends automatic selection passed over, each with its reason (empty when one was set explicitly). */
  skippedBackends: string[];
}

export interface WorkerHooks {
  /** Told as each activity starts and ends (a supervised process passes this on to its supervisor: lost-activities.ts). */
  onActivity?: (m: ActivityMessage) => void;
}

export async function createWorkers(cfg: WorkerConfig, hooks: WorkerHooks = {}): Promise<RunningWorkers> {
  const backend = await initBackend(cfg.backend, cfg.wasmFma);
  const prisma = createPrisma(cfg.databaseUrl, 2);
  const activities = createActivities({ repo: new WorkerRepository(prisma), artifacts: createArtifactStore(cfg.artifacts, prisma), backend });
  const connection = await NativeConnection.connect({ address: cfg.temporalAddress }).catch((e: Error) => {
    throw new Error(`cannot reach Temporal at TEMPORAL_ADDRESS=${cfg.temporalAddress}: ${e.message}`);
  });
  const interceptors = hooks.onActivity ? { activity: [trackActivities(hooks.onActivity)] } : undefined;
  const workers: Worker[] = [
    await Worker.create({
      connection,
      namespace: cfg.namespace,
      taskQueue: (cfg.gpu ?? (backend.backend === 'cuda' || backend.backend === 'webgpu')) ? GPU_TASK_QUEUE : CPU_TASK_QUEUE,
      activities,
      maxConcurrentActivityTaskExecutions: cfg.maxConcurrentActivities,
      // Heartbeats carry cancellation back: send them often so a cancelled sweep stops within seconds.
      defaultHeartbeatThrottleInterval: '2 seconds',
      maxHeartbeatThrottleInterval: '5 seconds',
      // On SIGTERM/SIGINT: stop polling, let what runs finish for this long, then hand the rest back (WORKER_SHUTDOWN).
      shutdownGraceTime: cfg.shutdownGraceSeconds * 1000,
      interceptors,
    }),
  ];
  if (cfg.runWorkflows) {
    // The workflows' bookkeeping activities (database writes) run on their own queue, beside the workflows.
    workers.push(await Worker.create({ connection, namespace: cfg.namespace, taskQueue: WORKFLOW_TASK_QUEUE, workflowsPath: WORKFLOWS_PATH, activities: bookkeepingOf(activities), interceptors }));
  }
  return {
    backend: { backend: backend.backend, device: backend.device },
    skippedBackends: backend.skipped ?? [],
    run: async () => {
      await Promise.all(workers.map((w) => w.run()));
    },
    shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
    close: async () => {
      await connection.close();
      await prisma.$disconnect();
    },
  };
}
