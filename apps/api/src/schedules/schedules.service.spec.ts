import { NotFound, ValidationError } from '../errors.js';
import type { ApiConfig } from '../config.js';
import type { ModelsService } from '../models/models.service.js';
import type { ScheduleClient } from './schedule.client.js';
import { SchedulesService } from './schedules.service.js';

/**
 * SchedulesService over fake Temporal schedules and a fake models service: a schedule that names an uploaded model is
 * recorded before Temporal creates it, and the record goes when the schedule does (or when it was never created).
 */
const MODEL = `um-${'a'.repeat(64)}`;
const sweep = { name: 'nightly', model: 'user', userModel: MODEL, methods: ['l1-unstructured'], amounts: [0.5], seeds: [1], baselineEpochs: 1, finetuneEpochs: 1 };
const body = { name: 'nightly mine', cron: '0 2 * * *', sweep };

function setup(opts: { create?: 'ok' | 'refused' | 'unknown'; existsFails?: boolean; deleteError?: Error; noModel?: boolean } = {}) {
  const calls: string[] = [];
  const created = new Set<string>();
  const described = (id: string) => ({
    scheduleId: id, memo: { name: body.name, cron: body.cron }, spec: { timezone: 'UTC' }, state: { paused: false },
    info: { nextActionTimes: [], recentActions: [] }, action: { type: 'startWorkflow', args: [{ scheduleId: id, spec: sweep }] },
  });
  const schedules = {
    create: async (id: string) => {
      calls.push(`temporal.create ${id}`);
      if (opts.create === 'refused') throw new ValidationError([{ field: 'cron', message: 'refused' }]);
      created.add(id);
      if (opts.create === 'unknown') throw new Error('deadline exceeded'); // created, but the answer was lost
      return described(id);
    },
    exists: async (id: string) => {
      if (opts.existsFails) throw new Error('unavailable');
      return created.has(id);
    },
    delete: async (id: string) => {
      calls.push(`temporal.delete ${id}`);
      if (opts.deleteError) throw opts.deleteError;
    },
  } as unknown as ScheduleClient;
  const models = {
    reserveForSchedule: async (id: string, model: string, field: string) => {
      if (opts.noModel) throw new ValidationError([{ field, message: `no uploaded model ${model} (POST /models first)` }]);
      calls.push(`record ${id} ${model}`);
    },
    releaseSchedule: async (id: string) => void calls.push(`forget ${id}`),
  } as unknown as ModelsService;
  return { calls, service: new SchedulesService(schedules, { maxTrials: 100 } as ApiConfig, models) };
}

describe('SchedulesService and the schedules that name an uploaded model', () => {
  it('records the model before Temporal creates the schedule', async () => {
    const { calls, service } = setup();
    const v = await service.create(body);
    expect(calls).toEqual([`record ${v.id} ${MODEL}`, `temporal.create ${v.id}`]);
    expect(v.sweep).toMatchObject({ userModel: MODEL });
  });

  it('creates nothing for a model that is not uploaded (400 on sweep.userModel)', async () => {
    const { calls, service } = setup({ noModel: true });
    const err = await service.create(body).catch((e: unknown) => e);
    expect((err as ValidationError).errors).toEqual([{ field: 'sweep.userModel', message: `no uploaded model ${MODEL} (POST /models first)` }]);
    expect(calls).toEqual([]);
  });

  it('forgets the record when Temporal did not create the schedule, keeps it when it did or cannot say', async () => {
    const refused = setup({ create: 'refused' });
    await expect(refused.service.create(body)).rejects.toBeInstanceOf(ValidationError);
    expect(refused.calls.map((c) => c.split(' ')[0])).toEqual(['record', 'temporal.create', 'forget']);
    const lost = setup({ create: 'unknown' });
    await expect(lost.service.create(body)).rejects.toThrow('deadline exceeded');
    expect(lost.calls.map((c) => c.split(' ')[0])).toEqual(['record', 'temporal.create']);
    const unreachable = setup({ create: 'refused', existsFails: true });
    await expect(unreachable.service.create(body)).rejects.toBeInstanceOf(ValidationError);
    expect(unreachable.calls.map((c) => c.split(' ')[0])).toEqual(['record', 'temporal.create']);
  });

  it('forgets the record after Temporal deletes the schedule, or finds it gone; not when the delete failed', async () => {
    const ok = setup();
    expect(await ok.service.delete('sc-1')).toEqual({ id: 'sc-1', deleted: true });
    expect(ok.calls).toEqual(['temporal.delete sc-1', 'forget sc-1']);
    const gone = setup({ deleteError: new NotFound('schedule sc-1 not found') });
    await expect(gone.service.delete('sc-1')).rejects.toBeInstanceOf(NotFound);
    expect(gone.calls).toEqual(['temporal.delete sc-1', 'forget sc-1']);
    const failed = setup({ deleteError: new Error('unavailable') });
    await expect(failed.service.delete('sc-1')).rejects.toThrow('unavailable');
    expect(failed.calls).toEqual(['temporal.delete sc-1']);
  });
});
