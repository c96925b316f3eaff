/**
 * The embedded default database: PGlite over TCP (what a user without Postgres gets). Migrations apply
 * and the worker's repository and artifact store work through Prisma against it.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startPglite } from '../deploy/services.js';
import { createPrisma, type PrismaClient } from '../prisma/src/client.js';
import { applyMigrations, migrationsList } from '../prisma/src/engine.js';
import { createActivities } from '../workers/src/activities.js';
import { DirectoryArtifactStore, PostgresArtifactStore } from '../workers/src/artifacts.js';
import { WorkerRepository } from '../workers/src/repository.js';
import { initBackend } from '../workers/src/backends/index.js';
import { expandGrid } from '../workflows/src/spec.js';
import type { BaselineRef } from '../workflows/src/activity-types.js';
import { testSpec } from './helpers/spec.js';

let db: Awaited<ReturnType<typeof startPglite>>;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await startPglite(mkdtempSync(join(tmpdir(), 'lopper-pglite-')), () => {});
}, 60_000);
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.stop();
});

it('applies the migrations and runs a baseline and a trial through Prisma on PGlite', async () => {
  expect(await applyMigrations(db.url)).toEqual(migrationsList().migrationDirectories.map((d) => d.path));
  prisma = createPrisma(db.url);
  const spec = testSpec({ methods: ['l1-unstructured'], amounts: [0.5], trainSubset: 256, testSubset: 128 });
  const sweepId = 'pglite-sweep';
  const [t] = expandGrid(sweepId, spec);
  await prisma.sweep.create({ data: { id: sweepId, name: 'p', model: 'mlp', dataset: 'fashion-mnist', spec: spec as object, tags: ['x'], totalTrials: 1 } });
  await prisma.trial.create({ data: { id: t.trialId, sweepId, model: t.model, method: t.method, amount: t.amount, seed: t.seed, config: {} } });
  const acts = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: await initBackend('wasm') });
  const env = new MockActivityEnvironment();
  // Several pooled connections at once: PGlite's socket server queues them.
  const baseline = (await env.run(acts.trainBaseline, { sweepId, spec, seed: 1 })) as BaselineRef;
  await Promise.all([env.run(acts.runTrial, { sweepId, trialId: t.trialId, spec, method: t.method, amount: t.amount, seed: t.seed, baseline }), prisma.sweep.count(), prisma.trial.count()]);
  const row = await prisma.trial.findUniqueOrThrow({ where: { id: t.trialId } });
  expect(row.status).toBe('DONE');
  expect(row.nonzeroParams).toBeLessThan(baseline.totalParams);
  expect(await prisma.artifact.count()).toBe(2);
}, 120_000);

it("takes the API's interactive transactions (resuming a sweep) and its trial filters", async () => {
  const { SweepsRepository } = await import('../apps/api/src/sweeps/sweeps.repository.js');
  const repo = new SweepsRepository(prisma);
  const sweepId = 'pglite-sweep';
  await prisma.sweep.update({ where: { id: sweepId }, data: { status: 'CANCELLED' } });
  // Two at once, as two API requests would: one reopens, the other finds it reopened.
  expect((await Promise.all([repo.reopen(sweepId, 'CANCELLED'), repo.reopen(sweepId, 'CANCELLED')])).sort()).toEqual([false, true]);
  expect((await prisma.sweep.findUniqueOrThrow({ where: { id: sweepId } })).status).toBe('PENDING');
  expect((await repo.trials(sweepId, { status: 'DONE', offset: 0, limit: 1 })).map((t) => t.status)).toEqual(['DONE']);
  expect(await repo.trials(sweepId, { status: 'FAILED', offset: 0 })).toEqual([]);
  expect((await repo.trials(sweepId, { finetune: 'default', offset: 0 })).map((t) => t.finetune)).toEqual(['default']);
  expect(await repo.trials(sweepId, { finetune: 'kd', offset: 0 })).toEqual([]);
  // Artifact collection: referenced ones stay; an unreferenced one goes once past the grace period.
  expect(await repo.collectArtifacts(0)).toEqual({ artifacts: 0, bytes: 0 });
  const trial = await prisma.trial.findFirstOrThrow({ where: { sweepId } });
  const stored = await prisma.artifact.findUniqueOrThrow({ where: { uri: trial.artifactUri! } });
  await prisma.trial.update({ where: { id: trial.id }, data: { artifactUri: null } });
  expect(await repo.collectArtifacts(3 * 3600_000)).toEqual({ artifacts: 0, bytes: 0 });
  expect(await repo.collectArtifacts(0)).toEqual({ artifacts: 1, bytes: stored.sizeBytes });
});

it("deletes an ended sweep and the files its trials' models were (a dir: store), keeping files other rows still use", async () => {
  const { SweepsRepository } = await import('../apps/api/src/sweeps/sweeps.repository.js');
  const repo = new SweepsRepository(prisma);
  const store = new DirectoryArtifactStore(mkdtempSync(join(tmpdir(), 'lopper-dir-artifacts-')));
  const [own, shared] = [await store.put('pruned', new Uint8Array([1, 2, 3])), await store.put('pruned', new Uint8Array([4, 5]))];
  const data = { model: 'mlp', method: 'l1-unstructured', amount: 0.5, seed: 1, config: {}, status: 'DONE' as const };
  for (const [id, uris] of [['dir-a', [own, shared, shared]], ['dir-b', [shared]]] as const) {
    await prisma.sweep.create({ data: { id, name: id, model: 'mlp', dataset: 'fashion-mnist', spec: {}, tags: [], totalTrials: uris.length, status: 'COMPLETED' } });
    await prisma.trial.createMany({ data: uris.map((artifactUri, i) => ({ ...data, seed: i, id: `${id}-t${i}`, sweepId: id, artifactUri })) });
  }
  expect(await repo.deleteEnded('dir-a', 'RUNNING')).toBeNull(); // not in the status it was read in: nothing deleted
  const gone = await repo.deleteEnded('dir-a', 'COMPLETED');
  expect(gone).toEqual({ trials: 3, fileUris: [own, shared] });
  expect(await prisma.trial.count({ where: { sweepId: 'dir-a' } })).toBe(0);
  expect(await repo.collectFileArtifacts(gone!.fileUris, 3600_000)).toEqual({ artifacts: 0, bytes: 0 }); // just stored
  expect(await repo.collectFileArtifacts(gone!.fileUris, 0)).toEqual({ artifacts: 1, bytes: 3 });
  expect([existsSync(own.slice(5)), existsSync(shared.slice(5))]).toEqual([false, true]);
});
