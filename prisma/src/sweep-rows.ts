/**
 * The rows of a new sweep, written in one transaction: the sweep and one PENDING trial per grid point. Shared by the
 * API (POST /sweeps) and the worker (sweeps a schedule starts), so both write exactly the same thing.
 */
import type { PrismaClient } from './client.js';
import { expandGrid, modelNames, type SweepSpec } from '../../workflows/src/spec.js';

/** Returns the number of trials written. */
export async function createSweepRows(prisma: PrismaClient, id: string, spec: SweepSpec): Promise<number> {
  const grid = expandGrid(id, spec);
  await prisma.$transaction([
    prisma.sweep.create({ data: { id, name: spec.name, model: modelNames(spec).join(','), dataset: spec.dataset, spec: spec as object, tags: spec.tags, totalTrials: grid.length } }),
    prisma.trial.createMany({ data: grid.map((t) => ({ id: t.trialId, sweepId: id, model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetune: t.finetune, config: { model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetuneSetting: t.finetune } })) }),
  ]);
  return grid.length;
}
