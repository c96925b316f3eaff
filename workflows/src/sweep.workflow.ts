/**
 * SweepWorkflow: baselines once per model and seed, then one trial per grid point with bounded concurrency.
 * Deterministic code only (no Node builtins, no I/O): everything else happens in activities.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { BaselineRef, BookkeepingActivities, ComputeActivities } from './activity-types.js';
import { activityTaskQueue, TRIALS_PER_RUN } from './constants.js';
import { expandGrid, gridAxes, gridSize, specForModel, type SweepSpec } from './spec.js';
import { COMPUTE_HEARTBEAT_TIMEOUT, describeFailure, isHandBack, MAX_HAND_BACKS } from './failures.js';

export interface SweepWorkflowInput {
  sweepId: string;
  spec: SweepSpec;
  /** Set by continueAsNew: where this run starts in the grid, and the baselines already trained. */
  offset?: number;
  baselines?: BaselineRef[];
  failedSoFar?: number;
  /** Trials per workflow run before continueAsNew (default TRIALS_PER_RUN). */
  trialsPerRun?: number;
  /** Compute activities' task queue; default by capability (CPU_TASK_QUEUE, or GPU_TASK_QUEUE when spec.requireGpu). */
  activityTaskQueue?: string;
}

export interface SweepWorkflowResult { sweepId: string; trials: number; failed: number; status: 'COMPLETED' | 'FAILED' | 'CANCELLED' }

/**
 * The short bookkeeping activities, on this workflow's own task queue (no taskQueue: the worker that runs the workflow
 * serves them, so a cancel completes even while no worker serves the compute queue).
 */
export const bookkeepingActivities = () => proxyActivities<BookkeepingActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
});

/**
 * The sweep's long compute activities (heartbeating), on the queue its spec needs. A cancelled sweep waits for its
 * compute to stop (the next heartbeat brings the cancellation; one not started yet stops at once), so that once its
 * workflow has ended nothing of it still runs or writes, and a resume cannot overlap the old run.
 */
export function computeActivities(spec: SweepSpec, override?: string) {
  // Runs started before the change kept the SDK's default (TRY_CANCEL: not waiting); the patch keeps their histories replaying.
  const waitForCompute = patched('compute-cancellation-waits');
  return proxyActivities<ComputeActivities>({
    taskQueue: override ?? activityTaskQueue(spec),
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: COMPUTE_HEARTBEAT_TIMEOUT,
    cancellationType: waitForCompute ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL,
    retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: ['InvalidConfig'] },
  });
}

/**
 * Runs one compute activity, and schedules it again when a stopping worker hands it back (WORKER_SHUTDOWN: a deploy or
 * a restart, not the work's fault), so that restarting workers does not spend its retry attempts; at most MAX_HAND_BACKS
 * times, then the hand-back counts as its failure. A cancelled sweep's call fails at once, so the loop ends with it.
 */
async function handedBackAgain<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let handBacks = 0; ; handBacks++) {
    try {
      return await call();
    } catch (err) {
      if (!isHandBack(err) || handBacks >= MAX_HAND_BACKS) throw err;
      log.info('a stopping worker handed its work back; scheduling it again', { what, handBacks: handBacks + 1 });
    }
  }
}

export async function SweepWorkflow(input: SweepWorkflowInput): Promise<SweepWorkflowResult> {
  const { sweepId, spec } = input;
  if (workflowInfo().workflowId !== sweepId) {
    throw ApplicationFailure.nonRetryable(`workflow id must equal sweepId (${sweepId})`, 'InvalidConfig');
  }
  if (gridSize(spec) === 0) throw ApplicationFailure.nonRetryable('spec: the grid is empty', 'InvalidConfig');
  if (!(spec.concurrency >= 1)) throw ApplicationFailure.nonRetryable('spec.concurrency must be >= 1', 'InvalidConfig');
  const bookkeeping = bookkeepingActivities();
  const compute = computeActivities(spec, input.activityTaskQueue);
  const grid = expandGrid(sweepId, spec);
  const offset = input.offset ?? 0;
  const perRun = input.trialsPerRun ?? TRIALS_PER_RUN;
  let failed = input.failedSoFar ?? 0;

  try {
    let baselines = input.baselines;
    if (!baselines) {
      await bookkeeping.markSweepRunning(sweepId);
      // One baseline per model and seed (a sweep without models: its model's, one per seed, as before the axis).
      const { models, seeds } = gridAxes(spec);
      baselines = await Promise.all(models.flatMap((model) => seeds.map((seed) => handedBackAgain(`baseline ${model} seed ${seed}`, () => compute.trainBaseline({ sweepId, spec: specForModel(spec, model), seed })))));
    }
    const baselineOf = new Map(baselines.map((b) => [`${b.model ?? spec.model}/${b.seed}`, b]));

    const slice = grid.slice(offset, offset + perRun);
    let next = 0;
    const runner = async () => {
      while (next < slice.length) {
        const t = slice[next++];
        try {
          await handedBackAgain(t.trialId, () => compute.runTrial({ sweepId, trialId: t.trialId, spec, model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetune: t.finetune, baseline: baselineOf.get(`${t.model}/${t.seed}`)! }));
        } catch (err) {
          if (isCancellation(err)) throw err;
          failed++;
          log.warn('trial failed', { trialId: t.trialId, error: describeFailure(err) });
          await bookkeeping.markTrialFailed({ trialId: t.trialId, error: describeFailure(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(spec.concurrency, slice.length) }, runner));

    if (offset + perRun < grid.length) {
      return await continueAsNew<typeof SweepWorkflow>({ sweepId, spec, offset: offset + perRun, baselines, failedSoFar: failed, trialsPerRun: input.trialsPerRun, activityTaskQueue: input.activityTaskQueue });
    }
    const status = failed === grid.length ? 'FAILED' : 'COMPLETED';
    await bookkeeping.finishSweep({ sweepId, status, error: failed ? `${failed} of ${grid.length} trials failed` : undefined });
    return { sweepId, trials: grid.length, failed, status };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => bookkeeping.finishSweep({ sweepId, status: 'CANCELLED' }));
      throw err;
    }
    await CancellationScope.nonCancellable(() => bookkeeping.finishSweep({ sweepId, status: 'FAILED', error: describeFailure(err) }));
    throw err;
  }
}
