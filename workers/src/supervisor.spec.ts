import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { LostActivity } from './lost-activities.js';
import { REPEAT_SIGNAL_MS, restartDelayMs, superviseWorkers, workerProcesses, type SupervisorOptions } from './supervisor.js';

describe('workerProcesses', () => {
  it('takes the count asked for; with auto, one per core on a CPU backend and one on a GPU backend', () => {
    expect(['wasm', 'cpu', 'tensorflow', 'webgpu', 'cuda'].map((b) => workerProcesses('auto', 8, b))).toEqual([8, 8, 8, 1, 1]);
    expect(workerProcesses(3, 8, 'cuda')).toBe(3);
    expect(workerProcesses(1, 8, 'wasm')).toBe(1);
    expect(workerProcesses('auto', 0, 'wasm')).toBe(1);
  });
});

describe('restartDelayMs', () => {
  it('doubles from 1 s with each death in a row, up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe('superviseWorkers (with a stand-in worker process)', () => {
  let dir: string;
  let script: string;
  let journal: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lopper-supervisor-'));
    script = join(dir, 'worker.mjs');
    journal = join(dir, 'journal.txt');
    // Writes what it was started with, says ready (after FAKE_READY_MS) with FAKE_BACKEND, or exits at once with FAKE_FAIL.
    writeFileSync(script, `
      import { appendFileSync } from 'node:fs';
      const note = (what) => appendFileSync(process.env.FAKE_JOURNAL, \`\${process.env.LOPPER_WORKER_INDEX} \${process.pid} \${what}\\n\`);
      note(\`start \${process.env.LOPPER_BACKEND ?? '-'}\`);
      if (process.env.FAKE_FAIL) process.exit(Number(process.env.FAKE_FAIL));
      for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { note(sig); setTimeout(() => process.exit(0), Number(process.env.FAKE_STOP_MS ?? 0)); });
      process.on('disconnect', () => process.exit(0));
      // FAKE_ACTIVITIES=A,B: says activities A and B started on it, and B ended.
      if (process.env.FAKE_ACTIVITIES) {
        process.env.FAKE_ACTIVITIES.split(',').forEach((token, i) => process.send({ type: 'activity-start', token, activityType: 'runTrial', workflowId: 'sw-' + i, attempt: i + 1 }));
        process.send({ type: 'activity-end', token: 'B' });
      }
      // FAKE_CRASH_ON_START: once ready, says activity Z started and dies at once.
      if (process.env.FAKE_CRASH_ON_START && process.env.LOPPER_WORKER_INDEX === '1' && !process.env.LOPPER_BACKEND) {
        setTimeout(() => { process.send({ type: 'activity-start', token: 'Z', activityType: 'trainBaseline', workflowId: 'sw-z', attempt: 1 }); process.kill(process.pid, 'SIGKILL'); }, 200);
      }
      setTimeout(() => process.send({ type: 'ready', backend: process.env.LOPPER_BACKEND ?? process.env.FAKE_BACKEND, device: 'stand-in' }), Number(process.env.FAKE_READY_MS ?? 0));
      setInterval(() => {}, 1000);
    `);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A test that failed half-way leaves no process behind.
  let current: { done: Promise<number>; signal: (s: NodeJS.Signals) => void } | undefined;
  afterEach(async () => {
    const c = current;
    current = undefined;
    if (!c) return;
    c.signal('SIGTERM');
    await c.done;
  });

  const lines = () => readFileSync(journal, 'utf8').trim().split('\n').map((l) => l.split(' '));
  const until = async (f: () => boolean, ms = 10_000) => {
    for (const end = Date.now() + ms; !f(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error(`timed out; journal:\n${readFileSync(journal, 'utf8')}`);
  };
  function run(env: Record<string, string>, requested: number | 'auto', cores: number, reportLost?: SupervisorOptions['reportLost']) {
    writeFileSync(journal, '');
    const signals = new EventEmitter();
    const log: string[] = [];
    const done = superviseWorkers({ requested, cores, script, env: { ...process.env, FAKE_JOURNAL: journal, ...env }, log: (l) => log.push(l), delayMs: () => 50, signals: signals as unknown as NodeJS.Process, reportLost });
    current = { done, signal: (s: NodeJS.Signals) => signals.emit(s, s) };
    return { done, log, signal: current.signal };
  }
  const started = () => lines().filter((l) => l[2] === 'start');

  it('starts one process per core once the first is ready on a CPU backend, the rest pinned to its backend, and stops them all on a signal', async () => {
    const s = run({ FAKE_BACKEND: 'wasm', FAKE_READY_MS: '100' }, 'auto', 3);
    await until(() => started().length === 3);
    // 2 and 3 start together, in either order.
    expect(started().map((l) => [l[0], l[3]]).sort()).toEqual([['1', '-'], ['2', 'wasm'], ['3', 'wasm']]);
    expect(started()[0][0]).toBe('1');
    expect(s.log).toEqual(['[workers] 3 worker process(es) on wasm (one per core of 3)']);
    await new Promise((r) => setTimeout(r, 300)); // all ready
    s.signal('SIGTERM');
    expect(await s.done).toBe(0);
    expect(lines().filter((l) => l[2] === 'SIGTERM').map((l) => l[0]).sort()).toEqual(['1', '2', '3']); // each once
  });

  it('keeps to one process on a GPU backend unless told a count', async () => {
    const gpu = run({ FAKE_BACKEND: 'webgpu' }, 'auto', 4);
    await until(() => gpu.log.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect([gpu.log, started().length]).toEqual([['[workers] 1 worker process(es) on webgpu (one per GPU backend)'], 1]);
    gpu.signal('SIGINT');
    expect(await gpu.done).toBe(0);
    const two = run({ FAKE_BACKEND: 'cuda' }, 2, 4);
    await until(() => started().length === 2);
    expect(two.log).toEqual(['[workers] 2 worker process(es) on cuda (LOPPER_WORKER_PROCESSES)']);
    await new Promise((r) => setTimeout(r, 300));
    two.signal('SIGTERM');
    expect(await two.done).toBe(0);
  });

  it('passes a signal sent twice at once on once (Ctrl-C and npm run up\'s SIGTERM), and a later second one too', async () => {
    const s = run({ FAKE_BACKEND: 'wasm', FAKE_STOP_MS: String(REPEAT_SIGNAL_MS + 1500) }, 2, 2);
    await until(() => started().length === 2);
    await new Promise((r) => setTimeout(r, 300));
    s.signal('SIGINT');
    s.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, REPEAT_SIGNAL_MS + 200));
    const signalled = () => lines().filter((l) => l[2] === 'SIGINT' || l[2] === 'SIGTERM').map((l) => `${l[0]}:${l[2]}`).sort();
    expect(signalled()).toEqual(['1:SIGINT', '2:SIGINT']);
    s.signal('SIGTERM'); // an impatient second Ctrl-C
    await until(() => signalled().length === 4);
    expect(signalled()).toEqual(['1:SIGINT', '1:SIGTERM', '2:SIGINT', '2:SIGTERM']);
    expect(await s.done).toBe(0);
  });

  it('starts a process that died again, under the same number', async () => {
    const s = run({ FAKE_BACKEND: 'wasm' }, 2, 2);
    await until(() => started().length === 2);
    await new Promise((r) => setTimeout(r, 300));
    const victim = Number(started().find((l) => l[0] === '2')![1]);
    process.kill(victim, 'SIGKILL');
    await until(() => started().length === 3);
    const again = started()[2];
    expect([again[0], again[3], Number(again[1]) !== victim]).toEqual(['2', 'wasm', true]);
    expect(s.log[1]).toBe(`[workers] worker process 2 (pid ${victim}) exited with signal SIGKILL; starting it again in 0.05 s`);
    await new Promise((r) => setTimeout(r, 300));
    s.signal('SIGTERM');
    expect(await s.done).toBe(0);
  });

  it('reports the activities a process was running when it died, not those that ended, and restarts it', async () => {
    const reported: { lost: LostActivity[]; why: string; handBack: boolean }[] = [];
    const s = run({ FAKE_BACKEND: 'wasm', FAKE_ACTIVITIES: 'A,B,C' }, 2, 2, async (lost, why, handBack) => {
      reported.push({ lost, why, handBack });
      return lost.map((a) => `${a.activityType} of ${a.workflowId} (attempt ${a.attempt}): failed, to be retried now`);
    });
    await until(() => started().length === 2);
    await new Promise((r) => setTimeout(r, 300));
    const victim = Number(started().find((l) => l[0] === '2')![1]);
    process.kill(victim, 'SIGKILL');
    await until(() => started().length === 3 && reported.length === 1);
    expect(reported).toEqual([{
      lost: [{ token: 'A', activityType: 'runTrial', workflowId: 'sw-0', attempt: 1 }, { token: 'C', activityType: 'runTrial', workflowId: 'sw-2', attempt: 3 }],
      why: `worker process 2 (pid ${victim}) on ${hostname()} exited with signal SIGKILL while running this activity`,
      handBack: false,
    }]);
    await until(() => s.log.length === 4);
    expect(s.log.slice(1)).toEqual([
      `[workers] worker process 2 (pid ${victim}) exited with signal SIGKILL; starting it again in 0.05 s`,
      "[workers] worker process 2's runTrial of sw-0 (attempt 1): failed, to be retried now",
      "[workers] worker process 2's runTrial of sw-2 (attempt 3): failed, to be retried now",
    ]);
    await new Promise((r) => setTimeout(r, 300));
    s.signal('SIGTERM');
    expect(await s.done).toBe(0);
  });

  it('reports an activity whose start message the process sent just before it died', async () => {
    const reported: string[] = [];
    const s = run({ FAKE_BACKEND: 'wasm', FAKE_CRASH_ON_START: '1' }, 1, 1, async (lost) => {
      reported.push(...lost.map((a) => a.token));
      return [];
    });
    await until(() => started().length === 2 && reported.length === 1);
    expect(reported).toEqual(['Z']);
    await new Promise((r) => setTimeout(r, 300));
    s.signal('SIGTERM');
    expect(await s.done).toBe(0);
  });

  it('hands back what a process that died while stopping was running, and finishes only after that; a failed report is logged', async () => {
    let reportedAt = 0;
    const reported: [string, boolean][] = [];
    const s = run({ FAKE_BACKEND: 'wasm', FAKE_ACTIVITIES: 'A' }, 1, 1, async (_lost, why, handBack) => {
      reported.push([why, handBack]);
      await new Promise((r) => setTimeout(r, 300));
      reportedAt = Date.now();
      throw new Error('Temporal unreachable');
    });
    await until(() => started().length === 1);
    await new Promise((r) => setTimeout(r, 300));
    s.signal('SIGTERM'); // the stand-in exits without ending its activity, as a process killed while stopping would
    expect(await s.done).toBe(0);
    expect(reportedAt).toBeGreaterThan(0);
    expect(reported).toEqual([[expect.stringMatching(/^worker process 1 \(pid \d+\) on .* exited with code 0 while running this activity, being stopped$/), true]]);
    expect(s.log).toContain("[workers] could not report worker process 1's 1 activity(ies): Temporal unreachable");
  });

  it('stops with the exit code of a process that fails before any was ready (bad configuration, no database)', async () => {
    const s = run({ FAKE_FAIL: '3' }, 'auto', 4);
    expect(await s.done).toBe(3);
    expect(started().length).toBe(1);
    expect(s.log).toEqual(['[workers] worker process 1 exited with code 3 before it was ready: stopping']);
  });
});
