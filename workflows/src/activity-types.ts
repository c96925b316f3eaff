/** The activity contract. Workflows import only its types; workers implement it (workers/src/activities.ts). */
import type { MethodName, SweepSpec } from './spec.js';

export interface BaselineRef {
  /** Absent in results recorded before the model axis: the sweep's model. */
  model?: string;
  seed: number;
  key: string;
  accuracy: number;
  totalParams: number;
}

export interface TrainBaselineInput { sweepId: string; spec: SweepSpec; seed: number }

export interface RunTrialInput {
  sweepId: string;
  trialId: string;
  spec: SweepSpec;
  method: MethodName;
  amount: number;
  seed: number;
  /** The trial's model (spec.models); absent in trials started before the axis existed: spec.model. */
  model?: string;
  /** The fine-tuning setting (spec.finetuneSettings); absent in trials started before the axis existed: DEFAULT_FINETUNE. */
  finetune?: string;
  baseline: BaselineRef;
}

/**
 * What a compute activity's heartbeats carry (its last one is in Temporal's pending-activity info): what it computes
 * (a trial by id, or a model x seed baseline), the phase, and a training loop's progress. GET /sweeps/:id/progress reads it.
 */
export interface ComputeHeartbeat {
  kind: 'trial' | 'baseline';
  trialId?: string;
  model?: string;
  seed?: number;
  phase: string;
  epoch?: number;
  batch?: number;
  batches?: number;
  loss?: number;
}

export interface TrialOutcome { trialId: string; accuracy: number; compressionRate: number; skipped: boolean }

export type SweepFinalStatus = 'COMPLETED' | 'FAILED' | 'CANCELLED';

export interface CreateSweepInput { sweepId: string; spec: SweepSpec }

export interface LopperActivities {
  /** Writes a new sweep's rows (the sweep, one PENDING trial per grid point); a retry finds them written. */
  createSweep(input: CreateSweepInput): Promise<{ totalTrials: number }>;
  markSweepRunning(sweepId: string): Promise<void>;
  trainBaseline(input: TrainBaselineInput): Promise<BaselineRef>;
  runTrial(input: RunTrialInput): Promise<TrialOutcome>;
  markTrialFailed(input: { trialId: string; error: string }): Promise<void>;
  finishSweep(input: { sweepId: string; status: SweepFinalStatus; error?: string }): Promise<void>;
}

/**
 * The short database writes around the compute. They run on the workflow's own task queue, served by the worker that
 * runs the workflows, so that a sweep whose compute queue nobody serves (a GPU sweep before any GPU worker starts) is
 * still marked running, cancelled or failed at once.
 */
export const BOOKKEEPING_ACTIVITIES = ['createSweep', 'markSweepRunning', 'markTrialFailed', 'finishSweep'] as const;
export type BookkeepingActivities = Pick<LopperActivities, (typeof BOOKKEEPING_ACTIVITIES)[number]>;
/** The long ones (heartbeating): on the capability queue, CPU_TASK_QUEUE or GPU_TASK_QUEUE. */
export type ComputeActivities = Pick<LopperActivities, 'trainBaseline' | 'runTrial'>;
