/** What a failed activity's error says to a user, in words (recorded on the trial or sweep). Pure, deterministic. */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { WORKER_SHUTDOWN } from './constants.js';

/** The compute activities' heartbeat timeout (SweepWorkflow's activity options). */
export const COMPUTE_HEARTBEAT_TIMEOUT = '1 minute';

/**
 * How many times the workflow schedules one baseline or trial again after stopping workers handed it back, before it
 * counts as failed. Part of the workflow's commands: a change needs `patched()` (the hand-back history replays in tests).
 */
export const MAX_HAND_BACKS = 10;

/** The failure of a compute activity that a stopping worker handed back. */
export function isHandBack(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === WORKER_SHUTDOWN;
}

/**
 * The cause's message; for a heartbeat timeout, what the worker last reported (its phase and training progress) and
 * the two reasons it happens: the worker process died, or one unit of work outlasted the timeout (a slow backend).
 */
export function describeFailure(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === 'HEARTBEAT') {
      const d = (cause.lastHeartbeatDetails ?? null) as { phase?: string; epoch?: number; batch?: number; batches?: number } | null;
      const last = d?.phase ? `; last heard in phase "${d.phase}"${d.batch !== undefined ? ` (epoch ${(d.epoch ?? 0) + 1}, batch ${d.batch} of ${d.batches} done)` : ''}` : '; never heard from';
      return `no heartbeat for ${COMPUTE_HEARTBEAT_TIMEOUT}${last}: the worker process died, or one unit of work (a training batch) ran longer than that on its backend (a smaller batchSize or a faster backend, wasm, tensorflow or cuda, shortens it)`;
    }
    return `${cause.timeoutType ?? 'activity'} timeout${cause.message ? `: ${cause.message}` : ''}`;
  }
  if (cause instanceof ApplicationFailure && cause.type === WORKER_SHUTDOWN) {
    return `${cause.message}; stopping workers handed this work back ${MAX_HAND_BACKS + 1} times, so it counts as failed (workers restarted in a loop?)`;
  }
  return cause instanceof Error ? cause.message : String(cause);
}
