/**
 * SweepWorkflow on the real Temporal dev server (started by global-setup), with recording activities:
 * checks the orchestration (baselines once per seed, every grid point once, bounded concurrency,
 * failures recorded, continueAsNew, cancellation). RECORD_HISTORY=1 saves a history for the replay test.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LopperActivities, RunTrialInput } from '../workflows/src/activity-types.js';
import { WORKER_SHUTDOWN } from '../workflows/src/constants.js';
import { MAX_HAND_BACKS } from '../workflows/src/failures.js';
import { expandGrid, gridSize } from '../workflows/src/spec.js';
import type { ScheduledSweepWorkflow } from '../workflows/src/scheduled-sweep.workflow.js';
import type { SweepWorkflow } from '../workflows/src/sweep.workflow.js';
import { bookkeepingOf } from '../workers/src/bookkeeping.js';
import { testSpec } from './helpers/spec.js';

const require = createRequire(import.meta.url);
let bundle: WorkflowBundleWithSourceMap;
let connection: NativeConnection;
let client: Client;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows/src/index.ts'), logger: new DefaultLogger('ERROR') });
  connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  client = new Client({ connection: await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! }) });
});
afterAll(async () => {
  await connection?.close();
  await client?.connection.close();
});

interface Recorder { acts: LopperActivities; calls: string[]; maxInFlight: number; finished: { status: string; error?: string }[] }

function recorder(opts: { failTrial?: (t: RunTrialInput) => boolean; trialDelayMs?: number } = {}): Recorder {
  const r: Recorder = { calls: [], maxInFlight: 0, finished: [], acts: undefined as never };
  let inFlight = 0;
  r.acts = {
    async createSweep({ sweepId, spec }) { r.calls.push(`create:${sweepId}:${spec.tags.join(',')}`); return { totalTrials: gridSize(spec) }; },
    async markSweepRunning(id) { r.calls.push(`running:${id}`); },
    async trainBaseline({ seed }) { r.calls.push(`baseline:${seed}`); return { seed, key: `k${seed}`, accuracy: 0.8, totalParams: 100 }; },
    async runTrial(t) {
      inFlight++;
      r.maxInFlight = Math.max(r.maxInFlight, inFlight);
      try {
        await new Promise((res) => setTimeout(res, opts.trialDelayMs ?? 20));
        r.calls.push(`trial:${t.trialId}`);
        if (opts.failTrial?.(t)) throw new Error(`boom ${t.trialId}`);
        return { trialId: t.trialId, accuracy: 0.7, compressionRate: t.amount, skipped: false };
      } finally { inFlight--; }
    },
    async markTrialFailed({ trialId }) { r.calls.push(`failed:${trialId}`); },
    async finishSweep({ status, error }) { r.finished.push({ status, error }); },
  };
  return r;
}

async function withWorkers<T>(acts: LopperActivities, fn: () => Promise<T>): Promise<T> {
  const workers = [
    // As in workers/src/worker.ts: bookkeeping beside the workflows, compute on its own queue.
    await Worker.create({ connection, taskQueue: WORKFLOW_TASK_QUEUE, workflowBundle: bundle, activities: bookkeepingOf(acts) }),
    await Worker.create({ connection, taskQueue: ACTIVITY_TASK_QUEUE, activities: { trainBaseline: acts.trainBaseline, runTrial: acts.runTrial }, maxConcurrentActivityTaskExecutions: 50 }),
  ];
  const runs = workers.map((w) => w.run());
  try {
    return await fn();
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.all(runs);
  }
}

// Queues of this suite only, so that no other suite's worker takes its tasks.
const WORKFLOW_TASK_QUEUE = `test-workflows-${process.pid}`;
const ACTIVITY_TASK_QUEUE = `test-activities-${process.pid}`;

const uid = (p: string) => `${p}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

describe('SweepWorkflow on the Temporal dev server', () => {
  it('records: trains each seed once, runs every grid point exactly once within the concurrency limit', async () => {
    const r = recorder();
    const sweepId = uid('wf-basic');
    const spec = testSpec({ seeds: [1, 2], methods: ['l1-unstructured', 'global-l1-unstructured'], amounts: [0.25, 0.5, 0.75], concurrency: 3 });
    const result = await withWorkers(r.acts, () =>
      client.workflow.execute<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec, activityTaskQueue: ACTIVITY_TASK_QUEUE }] }),
    );
    expect(result).toEqual({ sweepId, trials: 12, failed: 0, status: 'COMPLETED' });
    expect(r.calls.filter((c) => c.startsWith('baseline:')).sort()).toEqual(['baseline:1', 'baseline:2']);
    const trials = r.calls.filter((c) => c.startsWith('trial:')).map((c) => c.slice(6)).sort();
    expect(trials).toEqual(expandGrid(sweepId, spec).map((t) => t.trialId).sort());
    expect(r.maxInFlight).toBeLessThanOrEqual(3);
    expect(r.maxInFlight).toBeGreaterThan(1);
    expect(r.finished).toEqual([{ status: 'COMPLETED', error: undefined }]);
    if (process.env.RECORD_HISTORY === '1') {
      const history = await client.workflow.getHandle(sweepId).fetchHistory();
      writeFileSync(new URL('./fixtures/sweep-history.json', import.meta.url), JSON.stringify({ workflowId: sweepId, history: JSON.parse(historyToJSON(history)) }));
    }
  });

  it('records: a scheduled run writes a new sweep tagged with its schedule, then runs it as SweepWorkflow under that id', async () => {
    const r = recorder();
    const workflowId = uid('sched-run');
    const spec = testSpec({ tags: ['nightly'] });
    const result = await withWorkers(r.acts, () =>
      client.workflow.execute<typeof ScheduledSweepWorkflow>('ScheduledSweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId, args: [{ scheduleId: 'sc-1', spec, activityTaskQueue: ACTIVITY_TASK_QUEUE }] }),
    );
    expect(result).toEqual({ sweepId: expect.stringMatching(/^sw-[0-9a-f-]{36}$/), trials: 4, failed: 0, status: 'COMPLETED' });
    expect(r.calls[0]).toBe(`create:${result.sweepId}:nightly,schedule:sc-1`);
    expect(r.calls.filter((c) => c.startsWith('trial:')).sort()).toEqual(expandGrid(result.sweepId, spec).map((t) => `trial:${t.trialId}`).sort());
    const child = await client.workflow.getHandle(result.sweepId).describe();
    expect([child.type, child.status.name, child.parentExecution?.workflowId]).toEqual(['SweepWorkflow', 'COMPLETED', workflowId]);
    if (process.env.RECORD_HISTORY === '1') {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      writeFileSync(new URL('./fixtures/scheduled-sweep-history.json', import.meta.url), JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) }));
    }
  });

  it('records failed trials and goes on with the rest', async () => {
    const r = recorder({ failTrial: (t) => t.amount === 0.9 });
    const sweepId = uid('wf-fail');
    const result = await withWorkers(r.acts, () =>
      client.workflow.execute<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec: testSpec(), activityTaskQueue: ACTIVITY_TASK_QUEUE }] }),
    );
    expect(result.failed).toBe(2);
    expect(result.status).toBe('COMPLETED');
    expect(r.calls.filter((c) => c.startsWith('failed:')).length).toBe(2);
    expect(r.finished[0]).toEqual({ status: 'COMPLETED', error: '2 of 4 trials failed' });
  }, 180_000);

  it('runs every fine-tuning setting of each grid point, naming it to the trial, on one baseline per seed', async () => {
    const seen: [string, string | undefined][] = [];
    const r = recorder({ failTrial: (t) => { seen.push([t.trialId, t.finetune]); return false; } });
    const sweepId = uid('wf-finetune');
    const spec = testSpec({ methods: ['l1-unstructured'], amounts: [0.5], seeds: [1, 2], finetuneSettings: [{ name: 'none', finetuneEpochs: 0 }, { name: 'kd', finetune: { distill: { temperature: 4, alpha: 0.5 } } }] });
    const result = await withWorkers(r.acts, () =>
      client.workflow.execute<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec, activityTaskQueue: ACTIVITY_TASK_QUEUE }] }),
    );
    expect(result).toEqual({ sweepId, trials: 4, failed: 0, status: 'COMPLETED' });
    expect(r.calls.filter((c) => c.startsWith('baseline:')).sort()).toEqual(['baseline:1', 'baseline:2']);
    expect(seen.sort()).toEqual([1, 2].flatMap((seed) => ['kd', 'none'].map((f): [string, string] => [`${sweepId}:l1-unstructured:0.5:${seed}:${f}`, f])).sort());
  });

  it('trains one baseline per model and seed, and gives each trial its own model\'s', async () => {
    const seen: string[] = [];
    const r = recorder({ failTrial: (t) => { seen.push(`${t.trialId}<-${t.baseline.key}`); return false; } });
    r.acts.trainBaseline = async ({ spec, seed }) => {
      r.calls.push(`baseline:${spec.model}:${seed}:${spec.models === undefined}`);
      return { model: spec.model, seed, key: `k-${spec.model}-${seed}`, accuracy: 0.8, totalParams: 100 };
    };
    const sweepId = uid('wf-models');
    const spec = testSpec({ model: 'lenet5', models: ['lenet5', 'mlp'], methods: ['l1-unstructured'], amounts: [0.5], seeds: [1, 2] });
    const result = await withWorkers(r.acts, () =>
      client.workflow.execute<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec, activityTaskQueue: ACTIVITY_TASK_QUEUE }] }),
    );
    expect(result).toEqual({ sweepId, trials: 4, failed: 0, status: 'COMPLETED' });
    // Each baseline activity gets one model's spec (no model axis left in it).
    expect(r.calls.filter((c) => c.startsWith('baseline:')).sort()).toEqual(['baseline:lenet5:1:true', 'baseline:lenet5:2:true', 'baseline:mlp:1:true', 'baseline:mlp:2:true']);
    expect(seen.sort()).toEqual(['lenet5', 'mlp'].flatMap((m) => [1, 2].map((seed) => `${sweepId}:${m}:l1-unstructured:0.5:${seed}<-k-${m}-${seed}`)).sort());
  });

  it('continues as new in bounded chunks without repeating a trial or a baseline', async () => {
    const r = recorder({ trialDelayMs: 1 });
    const sweepId = uid('wf-can');
    const spec = testSpec({ amounts: [0.1, 0.2, 0.3, 0.4, 0.5], concurrency: 2 });
    const result = await withWorkers(r.acts, () =>
      client.workflow.execute<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec, trialsPerRun: 3, activityTaskQueue: ACTIVITY_TASK_QUEUE }] }),
    );
    expect(result).toEqual({ sweepId, trials: 10, failed: 0, status: 'COMPLETED' });
    const trials = r.calls.filter((c) => c.startsWith('trial:'));
    expect(new Set(trials).size).toBe(10);
    expect(trials.length).toBe(10);
    expect(r.calls.filter((c) => c.startsWith('baseline:'))).toEqual(['baseline:1']);
    const runs = await client.workflow.getHandle(sweepId).describe();
    expect(runs.runId).toBeDefined();
  });

  it('records: schedules work a stopping worker handed back again, on a fresh first attempt, and fails it only after MAX_HAND_BACKS', async () => {
    const r = recorder({ trialDelayMs: 1 });
    const calls = new Map<string, number>();
    const attempts = new Set<number>();
    const called = (key: string) => {
      attempts.add(Context.current().info.attempt);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      return calls.get(key)!;
    };
    const handBack = () => ApplicationFailure.create({ type: WORKER_SHUTDOWN, nonRetryable: true, message: 'the worker on h (pid 1) stopped during phase "finetune"; the work was handed back' });
    const { trainBaseline, runTrial } = r.acts;
    // The baseline is handed back once, every trial twice, and the trials at 0.9 every time.
    r.acts.trainBaseline = async (x) => { if (called(`baseline:${x.seed}`) === 1) throw handBack(); return trainBaseline(x); };
    r.acts.runTrial = async (t) => { if (called(t.trialId) <= 2 || t.amount === 0.9) throw handBack(); return runTrial(t); };
    const errors: string[] = [];
    r.acts.markTrialFailed = async ({ error }) => { errors.push(error); };
    const sweepId = uid('wf-hand-back');
    const spec = testSpec();
    const result = await withWorkers(r.acts, () =>
      client.workflow.execute<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec, activityTaskQueue: ACTIVITY_TASK_QUEUE }] }),
    );
    expect(result).toEqual({ sweepId, trials: 4, failed: 2, status: 'COMPLETED' });
    expect(Object.fromEntries(calls)).toEqual({
      'baseline:1': 2,
      ...Object.fromEntries(expandGrid(sweepId, spec).map((t) => [t.trialId, t.amount === 0.9 ? MAX_HAND_BACKS + 1 : 3])),
    });
    // Each hand-back is a new activity the workflow scheduled, not a retry: no attempt but the first was ever run.
    expect([...attempts]).toEqual([1]);
    expect(errors).toEqual(Array(2).fill(`the worker on h (pid 1) stopped during phase "finetune"; the work was handed back; stopping workers handed this work back ${MAX_HAND_BACKS + 1} times, so it counts as failed (workers restarted in a loop?)`));
    expect(r.finished).toEqual([{ status: 'COMPLETED', error: '2 of 4 trials failed' }]);
    if (process.env.RECORD_HISTORY === '1') {
      const history = await client.workflow.getHandle(sweepId).fetchHistory();
      writeFileSync(new URL('./fixtures/sweep-handback-history.json', import.meta.url), JSON.stringify({ workflowId: sweepId, history: JSON.parse(historyToJSON(history)) }));
    }
  });

  it('marks the sweep CANCELLED when cancelled', async () => {
    const r = recorder({ trialDelayMs: 400 });
    const sweepId = uid('wf-cancel');
    await withWorkers(r.acts, async () => {
      const h = await client.workflow.start<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec: testSpec({ concurrency: 1 }), activityTaskQueue: ACTIVITY_TASK_QUEUE }] });
      while (!r.calls.some((c) => c.startsWith('trial:'))) await new Promise((res) => setTimeout(res, 50));
      await h.cancel();
      await expect(h.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
    expect(r.finished).toEqual([{ status: 'CANCELLED', error: undefined }]);
  });

  it('waits for a running trial to stop before it marks the sweep CANCELLED and ends', async () => {
    const r = recorder({ trialDelayMs: 1500 });
    const order: string[] = [];
    const runTrial = r.acts.runTrial;
    r.acts.runTrial = async (t) => { order.push('trial started'); try { return await runTrial(t); } finally { order.push('trial ended'); } };
    const finishSweep = r.acts.finishSweep;
    r.acts.finishSweep = async (x) => { order.push(`finish ${x.status}`); return finishSweep(x); };
    const sweepId = uid('wf-cancel-wait');
    await withWorkers(r.acts, async () => {
      const h = await client.workflow.start<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec: testSpec({ concurrency: 1 }), activityTaskQueue: ACTIVITY_TASK_QUEUE }] });
      while (!order.includes('trial started')) await new Promise((res) => setTimeout(res, 20));
      await h.cancel();
      await expect(h.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
    // The trial (which never heartbeats, so never hears of the cancel) ran to its end first; no other trial started.
    expect(order).toEqual(['trial started', 'trial ended', 'finish CANCELLED']);
  });

  it('marks a sweep whose compute queue no worker serves RUNNING, and ends it CANCELLED at once when cancelled', async () => {
    const r = recorder();
    const sweepId = uid('wf-unserved');
    await withWorkers(r.acts, async () => {
      const h = await client.workflow.start<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: sweepId, args: [{ sweepId, spec: testSpec(), activityTaskQueue: uid('nobody-polls') }] });
      while (!r.calls.includes(`running:${sweepId}`)) await new Promise((res) => setTimeout(res, 50));
      // The next workflow task schedules the baseline, which no worker takes.
      const pending = async () => ((await h.describe()).raw.pendingActivities ?? []).map((a) => a.activityType?.name);
      for (const end = Date.now() + 10_000; Date.now() < end && !(await pending()).length;) await new Promise((res) => setTimeout(res, 50));
      expect(await pending()).toEqual(['trainBaseline']);
      await h.cancel();
      await expect(h.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect((await h.describe()).status.name).toBe('CANCELLED');
    });
    expect(r.calls).toEqual([`running:${sweepId}`]);
    expect(r.finished).toEqual([{ status: 'CANCELLED', error: undefined }]);
  });

  it('rejects a workflow id that is not the sweep id as a non-retryable error', async () => {
    const r = recorder();
    await withWorkers(r.acts, async () => {
      const err = await client.workflow
        .execute<typeof SweepWorkflow>('SweepWorkflow', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: uid('other'), args: [{ sweepId: 'not-this', spec: testSpec(), activityTaskQueue: ACTIVITY_TASK_QUEUE }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/workflow id must equal sweepId/);
    });
    expect(r.calls).toEqual([]);
  });
});
