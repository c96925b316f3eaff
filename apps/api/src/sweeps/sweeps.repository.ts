/** All database I/O of the sweeps API. */
import { Inject, Injectable } from '@nestjs/common';
import type { Prisma, PrismaClient, SweepStatus, TrialStatus } from '../../../../prisma/src/client.js';
import type { SweepSpec } from '../../../../workflows/src/spec.js';
import { createSweepRows } from '../../../../prisma/src/sweep-rows.js';
import type { SweepListQuery, TrialQuery } from './sweeps.dto.js';
import { readArtifact, removeFileArtifact } from '../../../../workers/src/artifacts.js';

export const PRISMA = Symbol('PRISMA');

/** The grid's order: model, seed, method, amount, fine-tuning setting (then id). */
const TRIAL_ORDER: Prisma.TrialOrderByWithRelationInput[] = [{ model: 'asc' }, { seed: 'asc' }, { method: 'asc' }, { amount: 'asc' }, { finetune: 'asc' }, { id: 'asc' }];

@Injectable()
export class SweepsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Creates the sweep and all its PENDING trials in one transaction; returns the number of trials. */
  create(id: string, spec: SweepSpec): Promise<number> {
    return createSweepRows(this.prisma, id, spec);
  }

  async delete(id: string): Promise<void> {
    await this.prisma.sweep.deleteMany({ where: { id } });
  }

  /**
   * Deletes an ended sweep (its trials with it) if it is still in status `from`; returns the trials deleted and the
   * file: artifacts they referenced (models a worker with LOPPER_ARTIFACTS=dir:… stored), or null.
   */
  async deleteEnded(id: string, from: SweepStatus): Promise<{ trials: number; fileUris: string[] } | null> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.trial.findMany({ where: { sweepId: id }, select: { artifactUri: true } });
      const { count } = await tx.sweep.deleteMany({ where: { id, status: from } });
      if (count !== 1) return null;
      const fileUris = [...new Set(rows.map((r) => r.artifactUri).filter((u): u is string => !!u?.startsWith('file:')))];
      return { trials: rows.length, fileUris };
    });
  }

  /**
   * Removes the given file: artifacts that no row references any more, that this process can see (the API may run
   * where the workers' directory is not) and that no worker stored in the last `graceMs`.
   */
  async collectFileArtifacts(uris: string[], graceMs: number): Promise<{ artifacts: number; bytes: number }> {
    if (!uris.length) return { artifacts: 0, bytes: 0 };
    const where = { artifactUri: { in: uris } };
    const [t, b, u] = await Promise.all([
      this.prisma.trial.findMany({ where, select: { artifactUri: true }, distinct: ['artifactUri'] }),
      this.prisma.baseline.findMany({ where, select: { artifactUri: true }, distinct: ['artifactUri'] }),
      this.prisma.userModel.findMany({ where, select: { artifactUri: true }, distinct: ['artifactUri'] }),
    ]);
    const used = new Set([...t, ...b, ...u].map((r) => r.artifactUri));
    let artifacts = 0;
    let bytes = 0;
    for (const uri of uris.filter((x) => !used.has(x))) {
      const freed = removeFileArtifact(uri, graceMs);
      if (freed !== null) { artifacts += 1; bytes += freed; }
    }
    return { artifacts, bytes };
  }

  /**
   * Deletes the stored artifacts that no trial, baseline or user model references and that no worker stored in the last
   * `graceMs` (a worker stores a model, then writes the row that references it, within one activity).
   */
  async collectArtifacts(graceMs: number): Promise<{ artifacts: number; bytes: number }> {
    // Prisma keeps DateTime as UTC wall time in timestamp(3) columns: compare with the cutoff as UTC wall time too.
    const cutoff = new Date(Date.now() - graceMs).toISOString().replace('Z', '');
    const freed = await this.prisma.$queryRaw<{ sizeBytes: number }[]>`
      DELETE FROM "Artifact" a
      WHERE a."storedAt" < ${cutoff}::timestamp
        AND NOT EXISTS (SELECT 1 FROM "Trial" t WHERE t."artifactUri" = a."uri")
        AND NOT EXISTS (SELECT 1 FROM "Baseline" b WHERE b."artifactUri" = a."uri")
        AND NOT EXISTS (SELECT 1 FROM "UserModel" u WHERE u."artifactUri" = a."uri")
      RETURNING a."sizeBytes"`;
    return { artifacts: freed.length, bytes: freed.reduce((n, r) => n + Number(r.sizeBytes), 0) };
  }

  async find(id: string) {
    return this.prisma.sweep.findUnique({ where: { id }, include: { baselines: { include: { baseline: { select: { accuracy: true, totalParams: true } } } } } });
  }

  /** A page of sweeps in (createdAt desc, id asc) order; null when `beforeId` names no sweep. */
  async list(q: SweepListQuery) {
    let page = {};
    if (q.beforeId) {
      const last = await this.prisma.sweep.findUnique({ where: { id: q.beforeId }, select: { createdAt: true } });
      if (!last) return null;
      page = { OR: [{ createdAt: { lt: last.createdAt } }, { createdAt: last.createdAt, id: { gt: q.beforeId } }] };
    } else if (q.before) page = { createdAt: { lt: q.before } };
    return this.prisma.sweep.findMany({
      where: { ...(q.tag ? { tags: { has: q.tag } } : {}), ...(q.status ? { status: q.status } : {}), ...page },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take: q.limit,
      include: { baselines: { include: { baseline: { select: { accuracy: true, totalParams: true } } } } },
    });
  }

  /** Trial counts by status for each sweep id. */
  async counts(ids: string[]): Promise<Map<string, Record<string, number>>> {
    const rows = await this.prisma.trial.groupBy({ by: ['sweepId', 'status'], where: { sweepId: { in: ids } }, _count: { _all: true } });
    const out = new Map<string, Record<string, number>>();
    for (const r of rows) {
      const m = out.get(r.sweepId) ?? {};
      m[r.status] = r._count._all;
      out.set(r.sweepId, m);
    }
    return out;
  }

  /** The sweep's trials in a fixed order (model, seed, method, amount, fine-tuning setting, id), optionally filtered and paged. */
  async trials(sweepId: string, q: TrialQuery = { offset: 0 }) {
    return this.prisma.trial.findMany({
      where: { sweepId, ...(q.status ? { status: q.status } : {}), ...(q.method ? { method: q.method } : {}), ...(q.model ? { model: q.model } : {}), ...(q.finetune ? { finetune: q.finetune } : {}) },
      orderBy: TRIAL_ORDER,
      skip: q.offset,
      ...(q.limit !== undefined ? { take: q.limit } : {}),
    });
  }

  /** How many of the sweep's trials are DONE with a measured duration, and their mean duration in ms (null: none). */
  async doneDurations(sweepId: string): Promise<{ count: number; meanMs: number | null }> {
    const r = await this.prisma.trial.aggregate({ where: { sweepId, status: 'DONE', durationMs: { not: null } }, _count: { _all: true }, _avg: { durationMs: true } });
    return { count: r._count._all, meanMs: r._avg.durationMs };
  }

  /** The given trials of the sweep (those being computed: the progress view), in the same order as trials(). */
  async trialsByIds(sweepId: string, ids: string[]) {
    return this.prisma.trial.findMany({ where: { sweepId, id: { in: ids } }, orderBy: TRIAL_ORDER });
  }

  findTrial(id: string) {
    return this.prisma.trial.findUnique({ where: { id } });
  }

  /** A stored artifact's bytes (trials' models: in Postgres, or a file a worker wrote with LOPPER_ARTIFACTS=dir:…). */
  artifact(uri: string): Promise<Uint8Array> {
    return readArtifact(uri, this.prisma);
  }

  /** The sweep's trials that are not DONE: what a resumed sweep runs again. */
  unfinishedTrials(sweepId: string) {
    return this.prisma.trial.findMany({ where: { sweepId, status: { not: 'DONE' } }, select: { id: true, status: true, error: true } });
  }

  /**
   * Reopens an ended sweep in one transaction: it and its unfinished trials back to PENDING, their errors cleared.
   * Only from status `from`: false (nothing written) when the sweep is no longer in it (another request reopened it).
   */
  async reopen(id: string, from: SweepStatus): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.sweep.updateMany({ where: { id, status: from }, data: { status: 'PENDING', error: null, finishedAt: null } });
      if (count !== 1) return false;
      await tx.trial.updateMany({ where: { sweepId: id, status: { not: 'DONE' } }, data: { status: 'PENDING', error: null } });
      return true;
    });
  }

  /** Undoes reopen() when the workflow could not start: the sweep's and the trials' rows as they were. */
  async restore(sweep: { id: string; status: SweepStatus; error: string | null; finishedAt: Date | null }, trials: { id: string; status: TrialStatus; error: string | null }[]): Promise<void> {
    await this.prisma.$transaction([
      ...trials.map((t) => this.prisma.trial.update({ where: { id: t.id }, data: { status: t.status, error: t.error } })),
      this.prisma.sweep.update({ where: { id: sweep.id }, data: { status: sweep.status, error: sweep.error, finishedAt: sweep.finishedAt } }),
    ]);
  }

  async markCancelled(id: string): Promise<void> {
    await this.prisma.sweep.updateMany({ where: { id, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'CANCELLED', finishedAt: new Date() } });
  }
}
