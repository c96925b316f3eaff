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
}
