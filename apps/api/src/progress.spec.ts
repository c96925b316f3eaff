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
  const fresh = (n: number) => Array<number>(n).fill(0); // n trials held, just started

  it('projects the trials left, in rounds of those computed at once, at the finished trials\' mean duration', () => {
    // 10 left, 3 at a time, all just started: 4 rounds of 40 s.
    expect(estimateRemaining({ count: 6, meanMs: 40_000 }, 10, fresh(3), 4, 2)).toEqual({ remainingMs: 160_000, remainingTrials: 10, meanTrialMs: 40_000, finishedTrials: 6, parallel: 3 });
  });

  it('counts what the trials in flight have run already, and counts down while they run', () => {
    // The last two trials, 30 s into a 40 s mean: 10 s left, not 40.
    expect(estimateRemaining({ count: 10, meanMs: 40_000 }, 2, [30_000, 30_000], 2, 2)?.remainingMs).toBe(10_000);
    // Two in flight (10 s and 35 s in) and three queued on two slots: the 35 s one frees its slot first.
    // Slot A: 5 s, then 45 s, then 85 s; slot B: 30 s, then 70 s. The last ends at 85 s.
    expect(estimateRemaining({ count: 4, meanMs: 40_000 }, 5, [10_000, 35_000], 2, 2)?.remainingMs).toBe(85_000);
    // A trial that has run past the mean frees its slot now (the estimate cannot know by how much it overruns).
    expect(estimateRemaining({ count: 4, meanMs: 40_000 }, 2, [90_000, 0], 2, 2)?.remainingMs).toBe(40_000);
    // Counting down: the same sweep a second later is a second shorter.
    const at = (s: number) => estimateRemaining({ count: 4, meanMs: 40_000 }, 6, [s * 1000, (s + 20) * 1000], 2, 2)!.remainingMs;
    expect([at(0), at(1), at(2)]).toEqual([120_000, 119_000, 118_000]);
  });

  it('equals handing each queued trial to the slot free first, one at a time', () => {
    const greedy = (mean: number, left: number, running: number[], parallel: number) => {
      const slots = running.map((ms) => Math.max(0, mean - ms));
      while (slots.length < parallel) slots.push(0);
      for (let q = left - running.length; q > 0; q--) slots[slots.indexOf(Math.min(...slots))] += mean;
      return Math.max(...slots);
    };
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let i = 0; i < 300; i++) {
      const parallel = 1 + rand(6);
      const running = Array.from({ length: rand(parallel + 1) }, () => rand(60_000));
      const left = running.length + rand(40);
      if (left === 0) continue;
      const e = estimateRemaining({ count: 3, meanMs: 30_000 }, left, running, parallel, parallel)!;
      expect([e.parallel, e.remainingMs]).toEqual([Math.min(parallel, left), greedy(30_000, left, running, Math.min(parallel, left))]);
    }
  });

  it('counts at most the sweep\'s concurrency and what is left at once, and at least one (between two trials none is held)', () => {
    expect(estimateRemaining({ count: 1, meanMs: 1000 }, 10, fresh(8), 2, 1)?.parallel).toBe(2);
    expect(estimateRemaining({ count: 1, meanMs: 1000 }, 3, fresh(8), 8, 1)).toMatchObject({ parallel: 3, remainingMs: 1000 });
    expect(estimateRemaining({ count: 1, meanMs: 1000 }, 3, [], 8, 1)).toMatchObject({ parallel: 1, remainingMs: 3000 });
  });

  it('does not jump when a slot is empty for a moment between two trials: each polling worker counts as one', () => {
    // Two workers, concurrency 2: two held, then one for a moment while the workflow schedules the next trial.
    const both = estimateRemaining({ count: 4, meanMs: 1000 }, 6, fresh(2), 2, 2);
    expect(both).toMatchObject({ parallel: 2, remainingMs: 3000 });
    expect(estimateRemaining({ count: 5, meanMs: 1000 }, 5, fresh(1), 2, 2)).toMatchObject({ parallel: 2, remainingMs: 3000 });
    expect(estimateRemaining({ count: 4, meanMs: 1000 }, 6, [], 2, 2)).toEqual(both);
    // A worker configured for several activities at once holds more than the pollers count.
    expect(estimateRemaining({ count: 4, meanMs: 1000 }, 6, fresh(3), 4, 1)?.parallel).toBe(3);
  });

  it('says nothing before a trial has finished, when nothing is left, or when no worker serves the queue', () => {
    expect(estimateRemaining({ count: 0, meanMs: null }, 10, fresh(2), 2, 1)).toBeNull();
    expect(estimateRemaining({ count: 4, meanMs: 500 }, 0, [], 2, 1)).toBeNull();
    expect(estimateRemaining({ count: 4, meanMs: 500 }, 6, [], 2, 0)).toBeNull();
  });
});
