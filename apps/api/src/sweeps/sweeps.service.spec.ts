import { Conflict, NotFound } from '../errors.js';
import type { ApiConfig } from '../config.js';
import type { ModelsService } from '../models/models.service.js';
import type { SweepsRepository } from './sweeps.repository.js';
import { SweepsService } from './sweeps.service.js';
import type { SweepWorkflowClient } from './workflow.client.js';

/** SweepsService.resume over an in-memory repository: what it writes, in what order, and what it undoes. */
function setup(status: string, unfinished: { id: string; status: string; error: string | null }[], start: () => Promise<void>, raced = false, open = false) {
  const calls: string[] = [];
  const row = { id: 'sw-1', status, error: '1 of 2 trials failed', finishedAt: new Date(0), totalTrials: 2, spec: { name: 'n' }, baselines: [] };
  const repo = {
    find: async (id: string) => (id === 'sw-1' ? row : null),
    unfinishedTrials: async () => unfinished,
    reopen: async (id: string, from: string) => { calls.push(`reopen ${id} from ${from}`); return !raced; },
    deleteEnded: async (id: string, from: string) => { calls.push(`deleteEnded ${id} from ${from}`); return raced ? null : { trials: 2, fileUris: ['file:/d/pruned-a.bin'] }; },
    collectArtifacts: async (graceMs: number) => { calls.push(`collect ${graceMs}`); return { artifacts: 1, bytes: 10 }; },
    collectFileArtifacts: async (uris: string[], graceMs: number) => { calls.push(`collect files ${uris.join(',')} ${graceMs}`); return { artifacts: 1, bytes: 5 }; },
    restore: async (sweep: typeof row, trials: typeof unfinished) => { calls.push(`restore ${sweep.status} ${sweep.error} ${trials.map((t) => `${t.id}:${t.status}`).join(',')}`); },
  } as unknown as SweepsRepository;
  const workflows = { start: async (id: string, spec: object) => { calls.push(`start ${id} ${JSON.stringify(spec)}`); await start(); }, isOpen: async () => open } as unknown as SweepWorkflowClient;
  return { calls, service: new SweepsService(repo, workflows, { maxTrials: 10 } as ApiConfig, {} as ModelsService) };
}

describe('SweepsService.resume', () => {
  const failedOne = [{ id: 't2', status: 'FAILED', error: 'out of memory' }];

  it('reopens the unfinished trials, then starts the workflow on the stored spec', async () => {
    const { calls, service } = setup('COMPLETED', failedOne, async () => {});
    expect(await service.resume('sw-1')).toEqual({ id: 'sw-1', resumedTrials: 1, status: 'PENDING' });
    expect(calls).toEqual(['reopen sw-1 from COMPLETED', 'start sw-1 {"name":"n"}']);
  });

  it('puts the rows back as they were when the workflow cannot start', async () => {
    const { calls, service } = setup('CANCELLED', failedOne, async () => { throw new Conflict('still running'); });
    await expect(service.resume('sw-1')).rejects.toThrow('still running');
    expect(calls).toEqual(['reopen sw-1 from CANCELLED', 'start sw-1 {"name":"n"}', 'restore CANCELLED 1 of 2 trials failed t2:FAILED']);
  });

  it('leaves a sweep another request reopened first alone: no start, no restore', async () => {
    const { calls, service } = setup('FAILED', failedOne, async () => {}, true);
    await expect(service.resume('sw-1')).rejects.toThrow(new Conflict('sweep sw-1 is being resumed by another request'));
    expect(calls).toEqual(['reopen sw-1 from FAILED']);
  });

  it('refuses, writing nothing, a running sweep, one with every trial DONE, and an unknown id', async () => {
    for (const status of ['PENDING', 'RUNNING']) {
      const { calls, service } = setup(status, failedOne, async () => {});
      await expect(service.resume('sw-1')).rejects.toThrow(new Conflict(`sweep sw-1 is ${status}: only an ended sweep can be resumed`));
      expect(calls).toEqual([]);
    }
    const { calls, service } = setup('COMPLETED', [], async () => {});
    await expect(service.resume('sw-1')).rejects.toThrow('sweep sw-1 has nothing to resume: all 2 trials are DONE');
    await expect(service.resume('sw-2')).rejects.toBeInstanceOf(NotFound);
    expect(calls).toEqual([]);
  });
});

describe('SweepsService.delete', () => {
  it('deletes from the status it read, then collects artifacts (rows, and the files its trials named) past the 3-hour grace', async () => {
    const { calls, service } = setup('FAILED', [], async () => {});
    expect(await service.delete('sw-1')).toEqual({ id: 'sw-1', deleted: true, trials: 2, freedArtifacts: 2, freedBytes: 15 });
    expect(calls).toEqual(['deleteEnded sw-1 from FAILED', `collect ${3 * 3600_000}`, `collect files file:/d/pruned-a.bin ${3 * 3600_000}`]);
  });

  it('refuses a running sweep and one that changed meanwhile, collecting nothing', async () => {
    for (const status of ['PENDING', 'RUNNING']) {
      const { calls, service } = setup(status, [], async () => {});
      await expect(service.delete('sw-1')).rejects.toThrow(new Conflict(`sweep sw-1 is ${status}: cancel it before deleting it`));
      expect(calls).toEqual([]);
    }
    const { calls, service } = setup('COMPLETED', [], async () => {}, true);
    await expect(service.delete('sw-1')).rejects.toThrow('sweep sw-1 changed while being deleted (resumed?); nothing was deleted');
    expect(calls).toEqual(['deleteEnded sw-1 from COMPLETED']);
  });

  it('refuses a cancelled sweep whose workflow still winds down (trials in flight may still store results), deleting nothing', async () => {
    const { calls, service } = setup('CANCELLED', [], async () => {}, false, true);
    await expect(service.delete('sw-1')).rejects.toThrow(new Conflict("sweep sw-1's workflow is still winding down (its trials in flight stop within seconds); try again when it has ended"));
    expect(calls).toEqual([]);
  });
});

describe('SweepsService.pareto', () => {
  // Trial rows as the repository returns them: (accuracy, compression, nonzero, gzip, latency) per trial; baseline latency 2 ms.
  const row = (id: string, accuracy: number, compressionRate: number, nonzeroParams: number, gzipBytes: number, latencyMs: number, status = 'DONE') => ({
    id, model: 'mlp', method: 'l1-unstructured', amount: 0.5, seed: 1, finetune: 'default', status, accuracy, accuracyDrop: 0, totalParams: 100, nonzeroParams, baselineParams: 100,
    compressionRate, flops: 1n, effectiveFlops: 1n, latencyMs, baselineLatencyMs: 2, sizeBytes: 1, gzipBytes, durationMs: 1, backend: 'wasm', device: 'x', attempts: 1, error: null, config: {},
  });
  const rows = [
    row('a', 0.90, 0.50, 5000, 9000, 1.0), // accurate, little compression
    row('b', 0.85, 0.90, 1000, 4000, 1.9), // compressed (masks: still slow)
    row('c', 0.88, 0.70, 3000, 2000, 0.5), // structured: small and fast
    row('d', 0.80, 0.60, 4000, 8000, 1.5), // beaten on every objective
    row('e', 0.99, 0.99, 1, 1, 0.1, 'FAILED'),
  ];
  const repo = { find: async () => ({ id: 's' }), trials: async () => rows } as unknown as SweepsRepository;
  const service = new SweepsService(repo, {} as SweepWorkflowClient, {} as ApiConfig, {} as ModelsService);
  const front = async (objective?: 'compression' | 'nonzero-params' | 'gzip-size' | 'speedup') => {
    const p = await service.pareto('s', objective);
    return [p.objective, p.objectives, p.front.map((x) => x.trialId), p.dominated.map((d) => `${d.trialId}<${d.dominatedBy.join('')}`)];
  };

  it('trades accuracy against compression by default, or against an absolute size or the measured speedup', async () => {
    expect(await front()).toEqual(['compression', { accuracy: 'max', compressionRate: 'max' }, ['a', 'c', 'b'], ['d<bc']]);
    expect(await front('nonzero-params')).toEqual(['nonzero-params', { accuracy: 'max', nonzeroParams: 'min' }, ['a', 'c', 'b'], ['d<bc']]);
    // By gzip size, c (88%, 2.0 KB) beats b (85%, 3.9 KB): the masked model is no smaller once stored.
    expect(await front('gzip-size')).toEqual(['gzip-size', { accuracy: 'max', gzipBytes: 'min' }, ['a', 'c'], ['b<c', 'd<c']]);
    expect(await front('speedup')).toEqual(['speedup', { accuracy: 'max', speedup: 'max' }, ['a', 'c'], ['b<ac', 'd<ac']]);
  });
});

describe('SweepsService.progress', () => {
  const spec = { name: 'n', model: 'mlp', concurrency: 2, requireGpu: false };
  const sweepRow = (status: string) => ({ id: 's', name: 'n', model: 'mlp', dataset: 'fashion-mnist', status, tags: [], totalTrials: 6, baselines: [], error: null, createdAt: new Date(0), finishedAt: null, spec });
  const asked: string[][] = [];
  const trialRow = (id: string) => ({ id, sweepId: 's', model: 'mlp', method: 'l1-unstructured', amount: 0.5, seed: 1, finetune: 'default', status: 'RUNNING', attempts: 1, config: {}, flops: null, effectiveFlops: null });
  const setup = (status: string, counts: Record<string, number>, pending: object[], workers: string[]) => {
    const repo = {
      find: async () => sweepRow(status),
      counts: async () => new Map([['s', counts]]),
      doneDurations: async () => ({ count: counts.DONE ?? 0, meanMs: counts.DONE ? 30_000 : null }),
      trials: async () => { throw new Error('the progress view reads only the trials in flight'); },
      trialsByIds: async (_s: string, ids: string[]) => { asked.push(ids); return ids.map(trialRow); },
    } as unknown as SweepsRepository;
    const workflows = { pendingActivities: async () => pending, activityPollers: async (q: string) => (q === 'lopper-cpu' ? workers : []) } as unknown as SweepWorkflowClient;
    return new SweepsService(repo, workflows, {} as ApiConfig, {} as ModelsService);
  };
  const held = { activity: 'runTrial', attempt: 1, scheduled: false, lastHeartbeatAt: null, startedAt: null, worker: '1@h', lastFailure: null, details: null };

  it('estimates the rest from the finished trials\' mean duration: the trials held now less what they have run, then the rest', async () => {
    const p = await setup('RUNNING', { DONE: 2, FAILED: 1, RUNNING: 2, PENDING: 1 }, [held, held], ['1@h', '2@h']).progress('s');
    expect(p.queue).toEqual({ name: 'lopper-cpu', workers: ['1@h', '2@h'] });
    expect(p.estimate).toEqual({ remainingMs: 60_000, remainingTrials: 3, meanTrialMs: 30_000, finishedTrials: 2, parallel: 2 });
    // One of them started 20 s ago (its attempt's start, from Temporal): its slot is free in 10 s and takes the queued trial.
    const started = { ...held, startedAt: new Date(Date.now() - 20_000).toISOString() };
    const later = await setup('RUNNING', { DONE: 2, FAILED: 1, RUNNING: 2, PENDING: 1 }, [held, started], ['1@h', '2@h']).progress('s');
    expect(later.estimate!.remainingMs).toBeGreaterThan(39_000);
    expect(later.estimate!.remainingMs).toBeLessThanOrEqual(40_000);
    // Trials waiting for a worker have not started: they count as queued.
    const waiting = await setup('RUNNING', { DONE: 2, FAILED: 1, RUNNING: 2, PENDING: 1 }, [{ ...started, scheduled: true }], ['1@h', '2@h']).progress('s');
    expect(waiting.estimate!.remainingMs).toBe(60_000);
  });

  it('reads the rows of the trials in flight only (once each), and names each from its row', async () => {
    asked.length = 0;
    const on = (trialId: string) => ({ ...held, details: { kind: 'trial', trialId, phase: 'finetune' } });
    const p = await setup('RUNNING', { DONE: 2, RUNNING: 2, PENDING: 2 }, [on('s:b'), on('s:a'), { ...held, scheduled: true }], ['1@h']).progress('s');
    expect(asked).toEqual([['s:b', 's:a']]);
    expect(p.running.map((w) => [w.trialId, w.method, w.waiting])).toEqual([['s:b', 'l1-unstructured', false], ['s:a', 'l1-unstructured', false], [null, null, true]]);
    asked.length = 0;
    await setup('RUNNING', { PENDING: 6 }, [held], ['1@h']).progress('s');
    expect(asked).toEqual([]);
  });

  it('has no estimate before a trial is done, while nobody serves the queue, or once the sweep has ended', async () => {
    expect((await setup('RUNNING', { PENDING: 6 }, [held], ['1@h']).progress('s')).estimate).toBeNull();
    expect((await setup('RUNNING', { DONE: 2, PENDING: 4 }, [], []).progress('s')).estimate).toBeNull();
    expect(await setup('COMPLETED', { DONE: 6 }, [], ['1@h']).progress('s')).toMatchObject({ running: [], queue: null, estimate: null });
  });
});

describe('SweepsService.plan', () => {
  const service = (uploaded = true) => {
    const writes: string[] = [];
    const repo = new Proxy({}, { get: (_t, name) => async () => { writes.push(String(name)); } }) as unknown as SweepsRepository;
    const models = { requireUploaded: async (id: string, field: string) => { if (!uploaded) throw new Error(`${field}: no uploaded model ${id}`); } } as unknown as ModelsService;
    return { writes, service: new SweepsService(repo, {} as SweepWorkflowClient, { maxTrials: 100 } as ApiConfig, models) };
  };
  const body = { name: 'n', models: ['mlp', 'lenet5'], methods: ['l1-unstructured', 'l1-unstructured', 'l1-structured'], amounts: [0.5, 0.8], seeds: [1, 2, 1], baselineEpochs: 1, finetuneEpochs: 1 };

  it('answers the grid the sweep would run (axes without duplicates, trials, baselines, defaults filled), touching no repository', async () => {
    const { writes, service: s } = service();
    const p = await s.plan(body);
    expect([p.valid, p.totalTrials, p.baselines]).toEqual([true, 16, 4]);
    expect(p.axes).toEqual({ models: ['mlp', 'lenet5'], seeds: [1, 2], methods: ['l1-unstructured', 'l1-structured'], amounts: [0.5, 0.8], finetuneSettings: ['default'] });
    expect(p.spec).toMatchObject({ batchSize: 128, concurrency: 4, requireGpu: false });
    expect(writes).toEqual([]);
  });

  it('refuses what POST /sweeps refuses: bad fields by name, the grid cap, a user model not uploaded', async () => {
    await expect(service().service.plan({ ...body, amounts: [1] })).rejects.toMatchObject({ errors: [{ field: 'amounts.0' }] });
    await expect(service().service.plan({ ...body, amounts: Array.from({ length: 20 }, (_, i) => i / 20) })).rejects.toMatchObject({ errors: [{ field: 'models x methods x amounts x seeds' }] });
    await expect(service(false).service.plan({ ...body, models: undefined, model: 'user', userModel: `um-${'a'.repeat(64)}`, baselineEpochs: 0 })).rejects.toThrow(`userModel: no uploaded model um-${'a'.repeat(64)}`);
  });
});
