/** All database I/O of the models API: uploaded user models live in the artifact table, content-addressed. */
import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { PrismaClient } from '../../../../prisma/src/client.js';
import { USER_MODEL_KIND, userModelUri } from '../../../../workflows/src/spec.js';
import { PRISMA } from '../sweeps/sweeps.repository.js';

@Injectable()
export class ModelsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /**
   * Stores the model's bytes and its description in one transaction (idempotent: the same upload gives the same id and
   * leaves the first upload's rows as they were); returns the stored description.
   */
  async put(bytes: Buffer, meta: { name: string; params: number; inputShape: (number | null)[] }) {
    const sha = createHash('sha256').update(bytes).digest('hex');
    const id = `um-${sha}`;
    const uri = userModelUri(id);
    const [, row] = await this.prisma.$transaction([
      this.prisma.artifact.upsert({
        where: { uri },
        create: { uri, kind: USER_MODEL_KIND, bytes: new Uint8Array(bytes), sizeBytes: bytes.length, sha256: sha },
        update: {},
        select: { uri: true },
      }),
      this.prisma.userModel.upsert({
        where: { id },
        create: { id, name: meta.name, params: meta.params, inputShape: meta.inputShape, sizeBytes: bytes.length, artifactUri: uri },
        update: {},
      }),
    ]);
    return row;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.prisma.artifact.count({ where: { uri: userModelUri(id), kind: USER_MODEL_KIND } })) === 1;
  }

  /** Uploaded models, newest first (their descriptions, not their bytes). */
  list(limit: number) {
    return this.prisma.userModel.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: limit });
  }

  find(id: string) {
    return this.prisma.userModel.findUnique({ where: { id } });
  }

  /**
   * Records that schedule `scheduleId` names model `modelId`, under a share lock on the model's row (as createSweepRows
   * writes a sweep), so that a delete of the model either sees the record or has already removed the model. false (and
   * nothing written) when there is no such model.
   */
  async addScheduleRef(scheduleId: string, modelId: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const found = await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "UserModel" WHERE "id" = ${modelId} FOR SHARE`;
      if (!found.length) return false;
      await tx.scheduleModelRef.create({ data: { scheduleId, modelId } });
      return true;
    });
  }

  /** Forgets schedule `scheduleId`'s record (none: nothing to do). */
  async removeScheduleRef(scheduleId: string): Promise<void> {
    await this.prisma.scheduleModelRef.deleteMany({ where: { scheduleId } });
  }

  /** The schedules recorded as naming the model, oldest first (through `db`: this client, or a transaction's). */
  scheduleRefs(modelId: string, db: Pick<PrismaClient, 'scheduleModelRef'> = this.prisma) {
    return db.scheduleModelRef.findMany({ where: { modelId }, orderBy: [{ createdAt: 'asc' }, { scheduleId: 'asc' }] });
  }

  /**
   * Deletes the model's description and its stored bytes in one transaction, unless a schedule or a sweep names it: then
   * nothing is written and the answer names the schedules, or up to `show` of the sweeps (oldest first) and their count.
   * The model's row is locked first, so a sweep or a schedule's record being written now (both hold a share lock on it) is
   * either seen here or finds the model gone. null when there is no such model.
   */
  async delete(id: string, show = 5): Promise<{ freedBytes: number } | { usedBy: string[]; count: number } | { schedules: string[] } | null> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ artifactUri: string }[]>`SELECT "artifactUri" FROM "UserModel" WHERE "id" = ${id} FOR UPDATE`;
      if (!locked.length) return null;
      const refs = await this.scheduleRefs(id, tx);
      if (refs.length) return { schedules: refs.map((r) => r.scheduleId) };
      const where = { spec: { path: ['userModel'], equals: id } };
      const count = await tx.sweep.count({ where });
      if (count) {
        const first = await tx.sweep.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: show });
        return { usedBy: first.map((s) => s.id), count };
      }
      await tx.userModel.delete({ where: { id } });
      const freed = await tx.$queryRaw<{ sizeBytes: number }[]>`
        DELETE FROM "Artifact" WHERE "uri" = ${locked[0].artifactUri} AND "kind" = ${USER_MODEL_KIND} RETURNING "sizeBytes"`;
      return { freedBytes: freed.reduce((n, r) => n + Number(r.sizeBytes), 0) };
    });
  }
}
