import type { ValidationError } from '../errors.js';
import { parseCreateSchedule } from './schedules.dto.js';

const sweep = { name: 'nightly', model: 'mlp', methods: ['l1-unstructured'], amounts: [0.5], seeds: [1], baselineEpochs: 1, finetuneEpochs: 1 };
const ok = { name: 'nightly lenet', cron: '0 2 * * *', sweep };
const errors = (body: unknown) => {
  try { parseCreateSchedule(body, 100); } catch (e) { return (e as ValidationError).errors; }
  throw new Error('expected a ValidationError');
};

describe('parseCreateSchedule', () => {
  it('takes a cron, a time zone (UTC by default) and the sweep, validated as POST /sweeps validates it', () => {
    const r = parseCreateSchedule(ok, 100);
    expect(r).toMatchObject({ name: 'nightly lenet', cron: '0 2 * * *', timezone: 'UTC', paused: false });
    expect(r.spec).toMatchObject({ model: 'mlp', batchSize: 128, tags: [] }); // the sweep's defaults filled in
    expect(parseCreateSchedule({ ...ok, timezone: 'Europe/Paris', paused: true, cron: '@daily' }, 100)).toMatchObject({ timezone: 'Europe/Paris', paused: true, cron: '@daily' });
  });

  it('names each bad field, the sweep\'s as sweep.<field>', () => {
    expect(errors({ ...ok, sweep: { ...sweep, methods: ['magic'], seeds: [] } }).map((e) => e.field)).toEqual(['sweep.methods.0', 'sweep.seeds']);
    expect(errors({ ...ok, sweep: { ...sweep, structured: { flopsPenalty: 0.2 } } })).toEqual([
      { field: 'sweep.structured.flopsPenalty', message: 'is read by taylor-structured only, and methods (l1-unstructured) include none of them: remove it or add such a method' },
    ]);
    expect(errors({ ...ok, sweep: [1] })).toEqual([{ field: 'sweep', message: 'must be a JSON object (got an array)' }]);
    expect(errors({ name: 'x', cron: '0 2 * * *' })).toEqual([{ field: 'sweep', message: 'is required: the sweep each run starts (the body POST /sweeps takes)' }]);
    expect(errors({ ...ok, timezone: 'Mars/Olympus' })).toEqual([{ field: 'timezone', message: 'must be an IANA time zone name, such as UTC or Europe/Paris' }]);
    expect(errors({ ...ok, cron: 'CRON_TZ=Asia/Tokyo 0 2 * * *' })).toEqual([{ field: 'cron', message: 'must not name a time zone: use the timezone field' }]);
    expect(errors({ ...ok, cron: '' }).map((e) => e.field)).toEqual(['cron']);
    expect(errors({ ...ok, every: 'day' })).toEqual([{ field: 'body', message: 'unknown field(s): every' }]);
    // Errors of both levels together.
    expect(errors({ ...ok, name: '', sweep: { ...sweep, model: 'gpt' } }).map((e) => e.field)).toEqual(['name', 'sweep.model']);
    expect(errors(null)).toEqual([{ field: 'body', message: 'must be a JSON object (got null)' }]);
  });
});
