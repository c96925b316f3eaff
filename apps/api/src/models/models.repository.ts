/** All database I/O of the models API: uploaded user models live in the artifact table, content-addressed. */
import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { PrismaClient } from '../../../../prisma/src/client.js';
import { USER_MODEL_KIND, userModelUri } from '../../../../workflows/src/spec.js';
import { PRISMA } from '../sweeps/sweeps.repository.js';

@Injectable()
export class ModelsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Stores the model's bytes (idempotent: the same upload gives the same id); returns its id. */
  async put(bytes: Buffer): Promise<string> {
    const sha = createHash('sha256').update(bytes).digest('hex');
    const uri = userModelUri(`um-${sha}`);
    await this.prisma.artifact.upsert({
      where: { uri },
      create: { uri, kind: USER_MODEL_KIND, bytes: new Uint8Array(bytes), sizeBytes: bytes.length, sha256: sha },
      update: {},
    });
    return `um-${sha}`;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.prisma.artifact.count({ where: { uri: userModelUri(id), kind: USER_MODEL_KIND } })) === 1;
  }
}
