import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSweeps, pareto, plan, status, summary, trials } from './commands.js';
import type { LopperApi } from './api-client.js';
import type { SweepView } from '../../api/src/sweeps/sweeps.dto.js';

const sweep = (id: string): SweepView => ({
  id, name: id, model: 'mlp', models: ['mlp'], dataset: 'fashion-mnist', status: 'COMPLETED', tags: [], totalTrials: 1, baselines: [],
  counts: { pending: 0, running: 0, done: 1, failed: 0 }, baselineAccuracy: 0.9, baselineParams: 1, error: null,
  createdAt: '2026-11-29T00:00:00.000Z', finishedAt: null, spec: {} as SweepView['spec'],
});

describe('lopper sweep list', () => {
  const run = async (pages: SweepView[][], query: { tag?: string; status?: string; limit?: string; before?: string }) => {
    const asked: object[] = [];
    const api = { sweeps: async (q: object) => { asked.push(q); return pages[asked.length - 1]; } } as unknown as LopperApi;
    const out: string[] = [];
    await listSweeps(api, query, (l) => out.push(l));
    return { asked, out };
  };

  it('passes the filters through and, when the page is full, prints the command for the next one', async () => {
    const { asked, out } = await run([[sweep('sw-a'), sweep('sw-b')]], { tag: 'nightly', status: 'COMPLETED', limit: '2' });
    expect(asked).toEqual([{ tag: 'nightly', status: 'COMPLETED', limit: '2' }]);
    expect(out[out.length - 1]).toBe('more: lopper sweep list --tag nightly --status COMPLETED --limit 2 --before sw-b');
  });

  it('prints no next-page hint for a short page, and says when there is nothing', async () => {
    expect((await run([[sweep('sw-a')]], { limit: '50' })).out.join('\n')).not.toContain('more:');
    expect((await run([[]], { limit: '50' })).out).toEqual(['(no sweeps)']);
    expect((await run([[]], { limit: '50', before: 'sw-z' })).out).toEqual(['(no more sweeps)']);
  });
});

describe('--format on trials, summary and pareto', () => {
  const trial = { id: 't1', model: 'mlp', method: 'l1-unstructured', amount: 0.5, seed: 1, finetune: 'default', status: 'DONE', accuracy: 0.9, config: { a: 1 } };
  const api = {
    trials: async (_id: string, q: object) => { asked.push(q); return [trial]; },
    summary: async () => ({ sweepId: 's', cells: [] }),
    pareto: async (_id: string, objective?: string) => ({ sweepId: 's', objective: objective ?? 'compression', objectives: {}, front: [{ ...trial, trialId: 't1', compressionRate: 0.5 }], dominated: [] }),
  } as unknown as LopperApi;
  let asked: object[] = [];
  const lines = async (f: (out: (s: string) => void) => Promise<void>) => { const out: string[] = []; await f((l) => out.push(l)); return out; };

  it('prints the API body as JSON, or CSV with nothing else on stdout (so it can be piped to a file)', async () => {
    asked = [];
    const json = await lines((out) => trials(api, 's', { status: 'DONE' }, out, 'json'));
    expect(JSON.parse(json.join('\n'))).toEqual([trial]);
    expect(asked).toEqual([{ status: 'DONE' }]);
    const csv = (await lines((out) => trials(api, 's', {}, out, 'csv'))).join('\n').split('\r\n');
    expect(csv.length).toBe(2);
    expect(csv[0].startsWith('id,model,method,amount,seed,finetune,status,accuracy,')).toBe(true);
    expect(csv[1]).toContain('"{""a"":1}"');
    expect(await lines((out) => summary(api, 's', out, 'csv'))).toEqual([expect.stringMatching(/^model,method,amount,finetune,seeds,failed,unfinished,accuracy\.mean,/)]);
    const front = await lines((out) => pareto(api, 's', out, 'speedup', 'csv'));
    expect(front.length).toBe(1);
    expect(front[0].split('\r\n')[1]).toMatch(/^t1,mlp,l1-unstructured,0\.5,1,default,0\.9,0\.5,,,,true,$/);
    expect((await lines((out) => pareto(api, 's', out, undefined, 'table')))[0]).toMatch(/^Pareto front of s/);
  });
});

describe('lopper sweep status', () => {
  const work = (phase: string, batch: number | null) => ({
    kind: 'trial', activity: 'runTrial', trialId: 's:t', model: 'mlp', seed: 1, method: 'l1-unstructured', amount: 0.5, finetune: 'default', phase, epoch: batch === null ? null : 1, batch, batches: batch === null ? null : 4,
    attempt: 1, waiting: false, lastHeartbeatAt: null, worker: null, lastFailure: null,
  });
  const polls = [
    { s: { ...sweep('s'), status: 'RUNNING', counts: { pending: 1, running: 1, done: 0, failed: 0 } }, work: [work('finetune', 1)] },
    { s: { ...sweep('s'), status: 'RUNNING', counts: { pending: 1, running: 1, done: 0, failed: 0 } }, work: [work('finetune', 3)] },
    { s: { ...sweep('s'), status: 'RUNNING', counts: { pending: 1, running: 1, done: 0, failed: 0 } }, work: [work('evaluate', null)] },
    { s: { ...sweep('s'), status: 'COMPLETED' }, work: [] },
  ];
  const fakeApi = () => {
    let i = -1;
    return { sweep: async () => polls[++i].s, progress: async () => ({ running: polls[i].work, queue: { name: 'lopper-cpu', workers: ['1@host'] } }) } as unknown as LopperApi;
  };
  const stream = (isTTY: boolean) => { const out: string[] = []; return { out, s: { isTTY, write: (x: string) => { out.push(x); return true; } } as unknown as NodeJS.WriteStream }; };

  it('in a log: the bar when it changes, and each phase of each trial once, as it starts', async () => {
    const { out, s } = stream(false);
    const end = await status(fakeApi(), 's', { follow: true, intervalMs: 0, stream: s });
    expect(end.status).toBe('COMPLETED');
    expect(out.join('').split('\n').filter(Boolean).map((l) => l.replace(/^\[[#-]+\] /, '[bar] '))).toEqual([
      '[bar] 0/1 trials (1 running, 0 failed) baseline 90.00% RUNNING', '  mlp l1-unstructured 0.5 seed 1: finetune', '  mlp l1-unstructured 0.5 seed 1: evaluate',
      '[bar] 1/1 trials (0 running, 0 failed) baseline 90.00% COMPLETED',
    ]);
  });

  it('on a terminal: redraws the bar and the work lines in place', async () => {
    const { out, s } = stream(true);
    await status(fakeApi(), 's', { follow: true, intervalMs: 0, stream: s });
    expect(out[0]).toMatch(/^\x1b\[2K\[.*RUNNING\n\x1b\[2K  mlp l1-unstructured 0\.5 seed 1: finetune epoch 1, batch 1\/4\n\x1b\[J$/);
    expect(out[1].startsWith('\x1b[2F')).toBe(true); // up over the two lines drawn
    expect(out[1]).toContain('batch 3/4');
    expect(out[3]).toMatch(/^\x1b\[2F\x1b\[2K\[.*COMPLETED\n\x1b\[J$/); // the finished sweep: the bar alone, the rest erased
  });

  it('cuts each redrawn line to the terminal\'s width, and leaves them whole on a pty that reports none', async () => {
    const drawn = async (columns: number) => {
      const out: string[] = [];
      await status(fakeApi(), 's', { follow: false, stream: { isTTY: true, columns, write: (x: string) => { out.push(x); return true; } } as unknown as NodeJS.WriteStream });
      return out[0].split('\n').filter((l) => l.startsWith('\x1b[2K')).map((l) => l.slice(4).length);
    };
    expect(await drawn(40)).toEqual([39, 39]);
    const whole = await drawn(0);
    expect(whole[0]).toBeGreaterThan(60);
    expect(whole[1]).toBe('  mlp l1-unstructured 0.5 seed 1: finetune epoch 1, batch 1/4'.length);
  });

  it('prints the estimate of the time left under the bar, each time the bar changes', async () => {
    const running = { ...sweep('s'), totalTrials: 4, status: 'RUNNING', counts: { pending: 1, running: 2, done: 1, failed: 0 } };
    const estimate = { remainingMs: 80_000, remainingTrials: 3, meanTrialMs: 40_000, finishedTrials: 1, parallel: 2 };
    const api = { sweep: async () => running, progress: async () => ({ running: [], queue: { name: 'lopper-cpu', workers: ['1@host'] }, estimate }) } as unknown as LopperApi;
    const { out, s } = stream(false);
    await status(api, 's', { follow: false, stream: s });
    expect(out.join('').split('\n').filter(Boolean).slice(1)).toEqual(['  about 80 s left: 3 trial(s) to go at 40 s each (mean of 1 finished), 2 at a time']);
  });

  it('says when no worker polls the sweep\'s queue (a GPU sweep with no GPU worker waits for ever), and draws the bar when progress fails', async () => {
    const waiting = { ...sweep('s'), status: 'PENDING', counts: { pending: 1, running: 0, done: 0, failed: 0 } };
    const api = { sweep: async () => waiting, progress: async () => ({ running: [], queue: { name: 'lopper-gpu', workers: [] } }) } as unknown as LopperApi;
    const { out, s } = stream(false);
    await status(api, 's', { follow: false, stream: s });
    expect(out.join('').split('\n')[1]).toBe('  no worker polls lopper-gpu: nothing runs until one does (npm run worker on a GPU machine, or LOPPER_GPU=1)');
    const failing = { sweep: async () => waiting, progress: async () => { throw new Error('temporal down'); } } as unknown as LopperApi;
    const f = stream(false);
    await status(failing, 's', { follow: false, stream: f.s });
    expect(f.out.join('').split('\n').filter(Boolean)).toEqual([expect.stringMatching(/0\/1 trials .* PENDING$/)]);
  });
});

describe('lopper sweep submit --dry-run', () => {
  it('prints the grid and the training settings the API filled in, BatchNorm recalibration when on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lopper-plan-'));
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify({ name: 'x' }));
    const answer = (spec: object) => ({
      valid: true, totalTrials: 2, baselines: 1, spec: { baselineEpochs: 2, finetuneEpochs: 1, batchSize: 128, concurrency: 4, requireGpu: false, ...spec },
      axes: { models: ['vgg-small'], seeds: [1], methods: ['l1-structured'], amounts: [0.3, 0.6], finetuneSettings: ['default'] },
    });
    const lines = async (spec: object) => {
      const out: string[] = [];
      const api = { validateSweep: async () => answer(spec) } as unknown as LopperApi;
      expect(await plan(api, file, (l) => out.push(l))).toBe(2);
      return out;
    };
    expect(await lines({ batchNormRecalibration: 0 })).toEqual([
      'valid: 2 trial(s) and 1 baseline(s); nothing submitted',
      '  models vgg-small x seeds 1 x methods l1-structured x amounts 0.3, 0.6 x fine-tuning default',
      '  2 baseline epoch(s), 1 fine-tuning epoch(s), batch 128, 4 trial(s) at a time on CPU workers',
    ]);
    expect((await lines({ batchNormRecalibration: 20, requireGpu: true }))[2]).toBe('  2 baseline epoch(s), 1 fine-tuning epoch(s), batch 128, BatchNorm recalibrated over 20 batch(es), 4 trial(s) at a time on GPU workers');
    rmSync(dir, { recursive: true, force: true });
  });
});
