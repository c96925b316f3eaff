import { Conflict, NotFound, ValidationError } from '../errors.js';
import type { ScheduleClient } from '../schedules/schedule.client.js';
import type { ModelsRepository } from './models.repository.js';
import { ModelsService, STALE_SCHEDULE_REF_MS } from './models.service.js';

/** ModelsService.delete over an in-memory repository and schedule list: what it refuses, and what it deletes. */
function setup(opts: {
  sweepsNaming?: string[];
  schedules?: { id: string; spec: { userModel?: string } }[];
  gone?: boolean;
  /** Schedule records (ScheduleModelRef rows) of um-a, with their age in ms. */
  refs?: { scheduleId: string; ageMs: number }[];
  /** The schedules Temporal knows (describe finds them). */
  known?: string[];
  /** Records written between the service's check and the repository's delete. */
  refsAtDelete?: string[];
} = {}) {
  const deleted: string[] = [];
  const removedRefs: string[] = [];
  const row = { id: 'um-a', name: 'mine', params: 10, inputShape: [null, 28, 28, 1], sizeBytes: 40, createdAt: new Date(0) };
  const refs = () => (opts.refs ?? []).filter((r) => !removedRefs.includes(r.scheduleId));
  const repo = {
    find: async (id: string) => (id === 'um-a' ? row : null),
    scheduleRefs: async (id: string) => (id === 'um-a' ? refs().map((r) => ({ scheduleId: r.scheduleId, modelId: id, createdAt: new Date(Date.now() - r.ageMs) })) : []),
    removeScheduleRef: async (scheduleId: string) => void removedRefs.push(scheduleId),
    addScheduleRef: async (_scheduleId: string, modelId: string) => modelId === 'um-a',
    delete: async (id: string, show = 5) => {
      if (opts.gone) return null;
      const recorded = [...refs().map((r) => r.scheduleId), ...(opts.refsAtDelete ?? [])];
      if (recorded.length) return { schedules: recorded };
      const naming = opts.sweepsNaming ?? [];
      if (naming.length) return { usedBy: naming.slice(0, show), count: naming.length };
      deleted.push(id);
      return { freedBytes: 40 };
    },
  } as unknown as ModelsRepository;
  const schedules = {
    sweeps: async () => opts.schedules ?? [],
    exists: async (id: string) => (opts.known ?? []).includes(id),
  } as unknown as ScheduleClient;
  return { deleted, removedRefs, service: new ModelsService(repo, schedules) };
}

describe('ModelsService.delete', () => {
  it('deletes a model nothing names and says how many bytes it freed', async () => {
    const { deleted, service } = setup({ schedules: [{ id: 'sc-other', spec: { userModel: 'um-b' } }, { id: 'sc-builtin', spec: {} }] });
    expect(await service.delete('um-a')).toEqual({ id: 'um-a', deleted: true, freedBytes: 40 });
    expect(deleted).toEqual(['um-a']);
  });

  it('answers 404 for an unknown model, also when it went between the lookup and the delete', async () => {
    await expect(setup().service.delete('um-x')).rejects.toThrow(new NotFound('model um-x not found'));
    await expect(setup({ gone: true }).service.delete('um-a')).rejects.toThrow(new NotFound('model um-a not found'));
  });

  it('refuses while sweeps name it, naming the first five and counting the rest, and deletes nothing', async () => {
    const { deleted, service } = setup({ sweepsNaming: ['sw-1', 'sw-2', 'sw-3', 'sw-4', 'sw-5', 'sw-6', 'sw-7'] });
    await expect(service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is used by 7 sweep(s): sw-1, sw-2, sw-3, sw-4, sw-5 and 2 more; delete them first'));
    const one = setup({ sweepsNaming: ['sw-1'] });
    await expect(one.service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is used by 1 sweep(s): sw-1; delete them first'));
    expect([...deleted, ...one.deleted]).toEqual([]);
  });

  it('refuses while a schedule would start sweeps on it, before touching the database', async () => {
    const { deleted, service } = setup({ schedules: [{ id: 'sc-1', spec: { userModel: 'um-a' } }, { id: 'sc-2', spec: { userModel: 'um-a' } }] });
    await expect(service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is named by schedule(s) sc-1, sc-2: delete them first'));
    expect(deleted).toEqual([]);
  });

  it('refuses while a schedule recorded in Postgres names it, though Temporal does not list it yet', async () => {
    const { deleted, service } = setup({ refs: [{ scheduleId: 'sc-new', ageMs: 50 }], known: ['sc-new'] });
    await expect(service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is named by schedule(s) sc-new: delete them first'));
    expect(deleted).toEqual([]);
  });

  it('names each schedule once when it is both recorded and listed', async () => {
    const { service } = setup({ refs: [{ scheduleId: 'sc-1', ageMs: 10 }], known: ['sc-1'], schedules: [{ id: 'sc-1', spec: { userModel: 'um-a' } }, { id: 'sc-old', spec: { userModel: 'um-a' } }] });
    await expect(service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is named by schedule(s) sc-1, sc-old: delete them first'));
  });

  it("counts a record Temporal does not know while it is young (its schedule being created), drops it once it is stale", async () => {
    const young = setup({ refs: [{ scheduleId: 'sc-creating', ageMs: STALE_SCHEDULE_REF_MS - 5_000 }] });
    await expect(young.service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is named by schedule(s) sc-creating: delete them first'));
    expect(young.removedRefs).toEqual([]);
    const stale = setup({ refs: [{ scheduleId: 'sc-lost', ageMs: STALE_SCHEDULE_REF_MS + 5_000 }, { scheduleId: 'sc-live', ageMs: STALE_SCHEDULE_REF_MS + 5_000 }], known: ['sc-live'] });
    await expect(stale.service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is named by schedule(s) sc-live: delete them first'));
    expect(stale.removedRefs).toEqual(['sc-lost']);
    const onlyStale = setup({ refs: [{ scheduleId: 'sc-lost', ageMs: STALE_SCHEDULE_REF_MS + 5_000 }] });
    expect(await onlyStale.service.delete('um-a')).toEqual({ id: 'um-a', deleted: true, freedBytes: 40 });
    expect([onlyStale.removedRefs, onlyStale.deleted]).toEqual([['sc-lost'], ['um-a']]);
  });

  it('refuses when a schedule was recorded between its check and the locked delete', async () => {
    const { deleted, service } = setup({ refsAtDelete: ['sc-raced'] });
    await expect(service.delete('um-a')).rejects.toThrow(new Conflict('model um-a is named by schedule(s) sc-raced: delete them first'));
    expect(deleted).toEqual([]);
  });
});

describe('ModelsService.reserveForSchedule', () => {
  it('records an uploaded model, and answers 400 on the field for one that is not', async () => {
    const { service } = setup();
    await expect(service.reserveForSchedule('sc-1', 'um-a', 'sweep.userModel')).resolves.toBeUndefined();
    const err = await service.reserveForSchedule('sc-1', 'um-x', 'sweep.userModel').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual([{ field: 'sweep.userModel', message: 'no uploaded model um-x (POST /models first)' }]);
  });
});
