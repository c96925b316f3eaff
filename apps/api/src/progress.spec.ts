import { estimateRemaining, runningWork } from './progress.js';
import type { PendingActivity } from './sweeps/workflow.client.js';
import type { TrialView } from './sweeps/sweeps.dto.js';

const trial = (id: string, over: Partial<TrialView> = {}) => ({ id, model: 'lenet5', method: 'l1-structured', amount: 0.5, seed: 1, finetune: 'default', ...over }) as TrialView;
const pending = (activity: string, details: PendingActivity['details'], over: Partial<PendingActivity> = {}): PendingActivity =>
  ({ activity, attempt: 1, scheduled: false, lastHeartbeatAt: '2026-11-29T06:00:00.000Z', startedAt: null, worker: '12@host', lastFailure: null, details, ...over });

describe('runningWork', () => {
  const trials = [trial('s:a'), trial('s:b', { method: 'taylor-structured', finetune: 'kd' }), trial('s:c', { seed: 2 })];

  it('names each trial from its row and reports the phase, a 1-based epoch and the batch of batches', () => {
    const [w] = runningWork([pending('runTrial', { kind: 'trial', trialId: 's:b', model: 'lenet5', seed: 1, phase: 'finetune', epoch: 0, batch: 12, batches: 40, loss: 0.3 })], trials);
    expect(w).toEqual({
      kind: 'trial', activity: 'runTrial', trialId: 's:b', model: 'lenet5', seed: 1, method: 'taylor-structured', amount: 0.5, finetune: 'kd', phase: 'finetune', epoch: 1, batch: 12, batches: 40,
      attempt: 1, waiting: false, lastHeartbeatAt: '2026-11-29T06:00:00.000Z', worker: '12@host', lastFailure: null,
    });
  });

  it('orders bookkeeping steps first, then baselines, then trials in the grid\'s order, then what no worker has reported on', () => {
    const work = runningWork([
      pending('runTrial', null, { scheduled: true, attempt: 2, lastFailure: 'no heartbeat for 1 minute' }),
      pending('runTrial', { kind: 'trial', trialId: 's:c', phase: 'prune' }),
      pending('markSweepRunning', null),
      pending('runTrial', { kind: 'trial', trialId: 's:a', phase: 'evaluate' }),
      pending('trainBaseline', { kind: 'baseline', model: 'mlp', seed: 3, phase: 'baseline', epoch: 2, batch: 1, batches: 10 }),
    ], trials);
    expect(work.map((w) => [w.kind, w.trialId ?? `${w.model}/${w.seed}`, w.phase, w.epoch, w.waiting])).toEqual([
      ['step', 'null/null', null, null, false], ['baseline', 'mlp/3', 'baseline', 3, false], ['trial', 's:a', 'evaluate', null, false], ['trial', 's:c', 'prune', null, false], ['trial', 'null/null', null, null, true],
    ]);
    expect(work[0].activity).toBe('markSweepRunning');
    expect(work[4]).toMatchObject({ attempt: 2, lastFailure: 'no heartbeat for 1 minute', method: null });
  });

  it('keeps what the heartbeat says when the trial row is not among the trials given', () => {
    const [w] = runningWork([pending('runTrial', { kind: 'trial', trialId: 's:zz', model: 'mlp', seed: 4, phase: 'load' })], trials);
    expect([w.trialId, w.model, w.seed, w.method]).toEqual(['s:zz', 'mlp', 4, null]);
  });
});

describe('estimateRemaining', () => {
  it('projects the trials left, in rounds of those computed at once, at the finished trials\' mean duration', () => {
    // 10 left, 3 at a time: 4 rounds of 40 s.
    expect(estimateRemaining({ count: 6, meanMs: 40_000 }, 10, 3, 4, 2)).toEqual({ remainingMs: 160_000, remainingTrials: 10, meanTrialMs: 40_000, finishedTrials: 6, parallel: 3 });
  });

  it('counts at most the sweep\'s concurrency and what is left at once, and at least one (between two trials none is held)', () => {
    expect(estimateRemaining({ count: 1, meanMs: 1000 }, 10, 8, 2, 1)?.parallel).toBe(2);
    expect(estimateRemaining({ count: 1, meanMs: 1000 }, 3, 8, 8, 1)).toMatchObject({ parallel: 3, remainingMs: 1000 });
    expect(estimateRemaining({ count: 1, meanMs: 1000 }, 3, 0, 8, 1)).toMatchObject({ parallel: 1, remainingMs: 3000 });
  });

  it('does not jump when a slot is empty for a moment between two trials: each polling worker counts as one', () => {
    // Two workers, concurrency 2: two held, then one for a moment while the workflow schedules the next trial.
    const both = estimateRemaining({ count: 4, meanMs: 1000 }, 6, 2, 2, 2);
    expect(both).toMatchObject({ parallel: 2, remainingMs: 3000 });
    expect(estimateRemaining({ count: 5, meanMs: 1000 }, 5, 1, 2, 2)).toMatchObject({ parallel: 2, remainingMs: 3000 });
    expect(estimateRemaining({ count: 4, meanMs: 1000 }, 6, 0, 2, 2)).toEqual(both);
    // A worker configured for several activities at once holds more than the pollers count.
    expect(estimateRemaining({ count: 4, meanMs: 1000 }, 6, 3, 4, 1)?.parallel).toBe(3);
  });

  it('says nothing before a trial has finished, when nothing is left, or when no worker serves the queue', () => {
    expect(estimateRemaining({ count: 0, meanMs: null }, 10, 2, 2, 1)).toBeNull();
    expect(estimateRemaining({ count: 4, meanMs: 500 }, 0, 0, 2, 1)).toBeNull();
    expect(estimateRemaining({ count: 4, meanMs: 500 }, 6, 0, 2, 0)).toBeNull();
  });
});
