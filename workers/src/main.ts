/**
 * Worker entry point (`npm run worker`). With LOPPER_WORKER_PROCESSES auto (default) or above 1 it supervises that many
 * worker processes (workers/src/supervisor.ts), each running this file again as one worker; with 1, it is the worker.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { workerConfigFromEnv } from './config.js';
import { superviseWorkers, type ReadyMessage } from './supervisor.js';
import type { LogLevel, LogMetadata } from '@temporalio/common';
import type { AsyncCompletionClient } from '@temporalio/client';
import { failLostActivities, type ActivityMessage, type LostActivity } from './lost-activities.js';

/** Set by the supervisor: this process is its worker number `index`. */
const index = process.env.LOPPER_WORKER_INDEX;
const label = index === undefined ? '[worker]' : `[worker ${index}]`;
/** A start-up error in one line (left alone, TF.js's WASM module rethrows it with its whole minified source). */
const fail = (e: unknown): never => {
  console.error(`${label} cannot start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
};
const cfg = (() => { try { return workerConfigFromEnv(); } catch (e) { return fail(e); } })();

if (index === undefined && cfg.processes !== 1) {
  // The supervisor loads neither TF.js nor Temporal's worker: it only starts, watches and stops the worker processes, and
  // fails at once what a process that died was running (a Temporal client, connected when first needed).
  let completion: Promise<AsyncCompletionClient> | undefined;
  const reportLost = async (lost: LostActivity[], why: string, handBack: boolean) => {
    const { Client, Connection } = await import('@temporalio/client');
    // Connected once; a failed connect is tried again at the next report.
    completion ??= Connection.connect({ address: cfg.temporalAddress }).then((connection) => new Client({ connection, namespace: cfg.namespace }).activity);
    const client = await completion.catch((e: unknown) => {
      completion = undefined;
      throw e;
    });
    return failLostActivities(client, lost, why, handBack);
  };
  process.exit(await superviseWorkers({ requested: cfg.processes, cores: availableParallelism(), script: fileURLToPath(import.meta.url), env: process.env, log: (l) => console.log(l), reportLost }));
}

const { DefaultLogger, Runtime } = await import('@temporalio/worker');
const { createWorkers } = await import('./worker.js');
/** The SDK's logger, less its warning that a compute-only worker does not poll for workflow tasks (by design here). */
class WorkerLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (!message.startsWith('No workflows registered')) super.log(level, message, meta);
  }
}
Runtime.install({ logger: new WorkerLogger((process.env.LOPPER_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN') });
// A supervised process tells its supervisor which activities it runs: if it dies, the supervisor fails them at once.
const onActivity = process.send ? (m: ActivityMessage) => void (process.connected && process.send!(m)) : undefined;
const workers = await createWorkers(cfg, { onActivity }).catch(fail);
const { backend, device } = workers.backend;
console.log(`${label} ready (${backend} on ${device}, pid ${process.pid})`);
// Why no faster backend was chosen; Dawn's own "vkCreateInstance" warnings on a machine without a Vulkan driver come from the webgpu probe.
if (workers.skippedBackends.length) console.log(`${label} passed over: ${workers.skippedBackends.join('; ')}`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => workers.shutdown());
if (process.send) {
  const ready: ReadyMessage = { type: 'ready', backend, device };
  process.send(ready);
  // The supervisor is gone (its IPC channel closed): stop as on SIGTERM rather than run on unsupervised.
  process.once('disconnect', () => workers.shutdown());
}
await workers.run();
await workers.close();
console.log(`${label} stopped`);
// A supervised process's IPC channel would keep it alive.
if (process.connected) process.disconnect();
