/** All database I/O of the worker's activities. */
import type { PrismaClient } from '../../prisma/src/client.js';
import { USER_MODEL_KIND, userModelUri, type SweepSpec } from '../../workflows/src/spec.js';
import { createSweepRows } from '../../prisma/src/sweep-rows.js';

export interface BaselineRow {
  key: string; model: string; dataset: string; seed: number; config: object; accuracy: number;
  totalParams: number; flops: number; artifactUri: string; durationMs: number; backend: string;
}

export interface TrialResult {
  accuracy: number; baselineAccuracy: number; accuracyDrop: number; totalParams: number; nonzeroParams: number;
  baselineParams: number; compressionRate: number; flops: number; effectiveFlops: number; durationMs: number;
  latencyMs: number; baselineLatencyMs: number; sizeBytes: number; gzipBytes: number;
  backend: string; device: string; artifactUri: string | null; config: object;
}

export class WorkerRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** A new sweep's rows in one transaction; when they exist already (an activity retry), writes nothing. */
  async createSweep(id: string, spec: SweepSpec): Promise<number> {
    const existing = await this.prisma.sweep.findUnique({ where: { id }, select: { totalTrials: true } });
    return existing ? existing.totalTrials : createSweepRows(this.prisma, id, spec);
  }

  async markSweepRunning(sweepId: string): Promise<void> {
    await this.prisma.sweep.updateMany({ where: { id: sweepId, status: 'PENDING' }, data: { status: 'RUNNING' } });
  }

  /** The stored bytes of an uploaded user model (Lopper's model format), or null. */
  async findUserModel(id: string): Promise<Uint8Array | null> {
    const row = await this.prisma.artifact.findUnique({ where: { uri: userModelUri(id) } });
    return row && row.kind === USER_MODEL_KIND ? row.bytes : null;
  }

  async findBaseline(key: string) {
    return this.prisma.baseline.findUnique({ where: { key } });
  }

  /** Inserts a baseline; when another worker inserted the same key first, keeps theirs. */
  async saveBaseline(row: BaselineRow) {
    await this.prisma.baseline.upsert({ where: { key: row.key }, create: { ...row, flops: BigInt(row.flops) }, update: {} });
    return (await this.findBaseline(row.key))!;
  }

  /** Links the sweep's baseline of `model` and `seed` (a later link of the same pair replaces it). */
  async linkBaseline(sweepId: string, model: string, seed: number, baselineKey: string): Promise<void> {
    await this.prisma.sweepBaseline.upsert({ where: { sweepId_model_seed: { sweepId, model, seed } }, create: { sweepId, model, seed, baselineKey }, update: { baselineKey } });
  }

  async getTrial(trialId: string) {
    return this.prisma.trial.findUnique({ where: { id: trialId }, select: { id: true, status: true, sweepId: true } });
  }

  async startTrial(trialId: string): Promise<void> {
    await this.prisma.trial.update({ where: { id: trialId }, data: { status: 'RUNNING', attempts: { increment: 1 }, error: null } });
  }

  /** Records the result on the trial's one row (a retry overwrites, never adds). */
  async completeTrial(trialId: string, r: TrialResult): Promise<void> {
    await this.prisma.trial.update({
      where: { id: trialId },
      data: { ...r, flops: BigInt(r.flops), effectiveFlops: BigInt(r.effectiveFlops), status: 'DONE', finishedAt: new Date(), error: null },
    });
  }

  async failTrial(trialId: string, error: string): Promise<void> {
    await this.prisma.trial.updateMany({ where: { id: trialId, status: { not: 'DONE' } }, data: { status: 'FAILED', error, finishedAt: new Date() } });
  }

  async finishSweep(sweepId: string, status: 'COMPLETED' | 'FAILED' | 'CANCELLED', error?: string): Promise<void> {
    // A sweep cancelled by the user stays CANCELLED.
    await this.prisma.sweep.updateMany({
      where: { id: sweepId, status: { not: 'CANCELLED' } },
      data: { status, error: error ?? null, finishedAt: new Date() },
    });
  }
}
