import { Conflict, NotFound } from '../errors.js';
import type { ScheduleClient } from '../schedules/schedule.client.js';
import type { ModelsRepository } from './models.repository.js';
import { ModelsService } from './models.service.js';

/** ModelsService.delete over an in-memory repository and schedule list: what it refuses, and what it deletes. */
function setup(opts: { sweepsNaming?: string[]; schedules?: { id: string; spec: { userModel?: string } }[]; gone?: boolean } = {}) {
  const deleted: string[] = [];
  const row = { id: 'um-a', name: 'mine', params: 10, inputShape: [null, 28, 28, 1], sizeBytes: 40, createdAt: new Date(0) };
  const repo = {
    find: async (id: string) => (id === 'um-a' ? row : null),
    delete: async (id: string, show = 5) => {
      if (opts.gone) return null;
      const naming = opts.sweepsNaming ?? [];
      if (naming.length) return { usedBy: naming.slice(0, show), count: naming.length };
      deleted.push(id);
      return { freedBytes: 40 };
    },
  } as unknown as ModelsRepository;
  const schedules = { sweeps: async () => opts.schedules ?? [] } as unknown as ScheduleClient;
  return { deleted, service: new ModelsService(repo, schedules) };
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
});
