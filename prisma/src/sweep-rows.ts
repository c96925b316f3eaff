/**
 * The rows of a new sweep, written in one transaction: the sweep and one PENDING trial per grid point. Shared by the
 * API (POST /sweeps) and the worker (sweeps a schedule starts), so both write exactly the same thing.
 */
import type { PrismaClient } from './client.js';
import { expandGrid, modelNames, type SweepSpec } from '../../workflows/src/spec.js';

/** The sweep names an uploaded model that is not (or no longer) stored. */
export class UnknownUserModel extends Error {
  constructor(readonly modelId: string) {
    super(`no uploaded model ${modelId} (POST /models first)`);
  }
}

/**
 * Returns the number of trials written. A sweep on an uploaded model holds a share lock on that model's row while it
 * writes, so that DELETE /models/:id (which locks the row for update, then looks for sweeps naming it) sees the sweep or
 * the sweep sees the model gone: UnknownUserModel, nothing written.
 */
export async function createSweepRows(prisma: PrismaClient, id: string, spec: SweepSpec): Promise<number> {
  const grid = expandGrid(id, spec);
  await prisma.$transaction(async (tx) => {
    if (spec.userModel) {
      const found = await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "UserModel" WHERE "id" = ${spec.userModel} FOR SHARE`;
      if (!found.length) throw new UnknownUserModel(spec.userModel);
    }
    await tx.sweep.create({ data: { id, name: spec.name, model: modelNames(spec).join(','), dataset: spec.dataset, spec: spec as object, tags: spec.tags, totalTrials: grid.length } });
    await tx.trial.createMany({ data: grid.map((t) => ({ id: t.trialId, sweepId: id, model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetune: t.finetune, config: { model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetuneSetting: t.finetune } })) });
  });
  return grid.length;
}
