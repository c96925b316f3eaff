/** What a failed activity's error says to a user, in words (recorded on the trial or sweep). Pure, deterministic. */
import { ActivityFailure, TimeoutFailure } from '@temporalio/workflow';

/** The compute activities' heartbeat timeout (SweepWorkflow's activity options). */
export const COMPUTE_HEARTBEAT_TIMEOUT = '1 minute';

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
  return cause instanceof Error ? cause.message : String(cause);
}
