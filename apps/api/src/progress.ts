/** What a running sweep's compute activities are doing now, from their last heartbeats (GET /sweeps/:id/progress). Pure. */
import type { PendingActivity } from './sweeps/workflow.client.js';
import type { SweepCounts, TrialView } from './sweeps/sweeps.dto.js';

export interface RunningWorkView {
  /** A trial, a model x seed baseline, or one of the workflow's bookkeeping steps (`activity` names it). */
  kind: 'trial' | 'baseline' | 'step';
  /** The activity: runTrial, trainBaseline, or a step such as markSweepRunning. */
  activity: string;
  trialId: string | null;
  model: string | null;
  seed: number | null;
  method: string | null;
  amount: number | null;
  finetune: string | null;
  /** The worker's phase (load, baseline, prune, sparsity, finetune, evaluate, measure, store, …) and training progress. */
  phase: string | null;
  /** 1-based epoch; batch: batches done of `batches` in it. */
  epoch: number | null;
  batch: number | null;
  batches: number | null;
  attempt: number;
  /** No worker holds it now: not picked up yet, or between a failed attempt and its retry. */
  waiting: boolean;
  lastHeartbeatAt: string | null;
  worker: string | null;
  /** Why the previous attempt failed, on a retry. */
  lastFailure: string | null;
}

export interface SweepProgressView {
  sweepId: string; status: string; counts: SweepCounts; running: RunningWorkView[];
  /** While the sweep is open: the task queue its compute goes to (lopper-cpu, or lopper-gpu with requireGpu) and the workers polling it. */
  queue: { name: string; workers: string[] } | null;
  /** How long the rest may take, projected from the finished trials' measured durations; null until one has finished. */
  estimate: SweepEstimate | null;
}

/**
 * A projection of what was measured, not a promise: each trial in flight takes the mean compute time of the trials
 * finished so far (each one's durationMs: loading, pruning, fine-tuning, evaluation, measurement) less the time it has
 * run, and the trials not started yet follow on `parallel` slots, each to the first one free. Methods and amounts differ
 * in cost and the grid runs them in order, so early estimates lean on the first methods'.
 */
export interface SweepEstimate {
  remainingMs: number;
  /** Trials not finished yet (pending or running). */
  remainingTrials: number;
  /** The mean, and how many finished trials it is over. */
  meanTrialMs: number;
  finishedTrials: number;
  /**
   * Trials computed at once: those workers hold now, but at least one per worker polling the sweep's queue (a worker
   * takes one activity at a time unless configured otherwise), so a slot that is empty for a moment between two trials
   * does not double the estimate; at most the sweep's concurrency and what is left.
   */
  parallel: number;
}

/**
 * The estimate from the finished trials' durations (`done`: how many have one, and their mean), the trials left, how
 * long each trial workers hold now has run (ms), the sweep's concurrency and the workers polling its queue. null when no
 * trial has finished, nothing is left, or no worker serves the sweep's queue (nothing would run).
 */
export function estimateRemaining(done: { count: number; meanMs: number | null }, remainingTrials: number, runningMs: number[], concurrency: number, workers: number): SweepEstimate | null {
  if (!done.count || done.meanMs === null || remainingTrials <= 0 || workers === 0) return null;
  const mean = done.meanMs;
  const held = Math.min(runningMs.length, remainingTrials);
  const parallel = Math.max(1, Math.min(Math.max(held, workers), concurrency, remainingTrials));
  // When each slot is free: a trial in flight at its mean less what it has run (an overrunning one: now), idle ones now.
  const slots = runningMs.slice(0, Math.min(held, parallel)).map((ms) => Math.max(0, mean - ms));
  while (slots.length < parallel) slots.push(0);
  // Each queued trial goes to the slot free first. Every slot is free within one mean, so each takes one trial per round:
  // whole rounds for all, then one more for the slots free first.
  const queued = remainingTrials - held;
  const rounds = Math.floor(queued / parallel);
  const ends = slots.map((t) => t + rounds * mean).sort((a, b) => a - b);
  for (let i = 0; i < queued % parallel; i++) ends[i] += mean;
  return { remainingMs: Math.round(Math.max(...ends)), remainingTrials, meanTrialMs: mean, finishedTrials: done.count, parallel };
}

const KINDS: Record<string, RunningWorkView['kind']> = { runTrial: 'trial', trainBaseline: 'baseline' };

/**
 * The activities in flight: bookkeeping steps first (a sweep waits on them before anything trains), then baselines,
 * then trials in the grid's order (those no worker has reported on last).
 */
export function runningWork(pending: PendingActivity[], trials: TrialView[]): RunningWorkView[] {
  const byId = new Map(trials.map((t, i) => [t.id, { t, i }]));
  const rows = pending.map((p) => {
    const d = p.details;
    const t = d?.trialId ? byId.get(d.trialId)?.t : undefined;
    const view: RunningWorkView = {
      kind: KINDS[p.activity] ?? 'step', activity: p.activity, trialId: d?.trialId ?? null, model: t?.model ?? d?.model ?? null, seed: t?.seed ?? d?.seed ?? null,
      method: t?.method ?? null, amount: t?.amount ?? null, finetune: t?.finetune ?? null,
      phase: d?.phase ?? null, epoch: d?.epoch !== undefined ? d.epoch + 1 : null, batch: d?.batch ?? null, batches: d?.batches ?? null,
      attempt: p.attempt, waiting: p.scheduled, lastHeartbeatAt: p.lastHeartbeatAt, worker: p.worker, lastFailure: p.lastFailure,
    };
    return view;
  });
  const order = (r: RunningWorkView) => [['step', 'baseline', 'trial'].indexOf(r.kind), r.trialId === null ? Number.MAX_SAFE_INTEGER : (byId.get(r.trialId)?.i ?? Number.MAX_SAFE_INTEGER - 1)];
  return rows.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1] || String(a.model).localeCompare(String(b.model)) || (a.seed ?? 0) - (b.seed ?? 0);
  });
}
