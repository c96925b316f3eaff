/** The HTTP contract of /schedules: sweeps that start on a cron schedule (nightly compression runs). */
import { z } from 'zod';
import type { SweepSpec } from '../../../../workflows/src/spec.js';
import { fieldErrors, requireJsonObject, ValidationError } from '../errors.js';
import { parseSweepSpec } from '../sweeps/sweeps.dto.js';

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

export const CreateScheduleSchema = z
  .object({
    name: z.string().trim().min(1, 'must be a non-empty string').max(200),
    /** Standard cron (minute hour day-of-month month day-of-week), or @daily, @weekly, …, evaluated in `timezone`. */
    cron: z.string().trim().min(1, 'must be a cron expression such as "0 2 * * *"').max(200)
      .refine((c) => !/^(CRON_)?TZ=/.test(c), 'must not name a time zone: use the timezone field'),
    timezone: z.string().default('UTC').refine(isTimeZone, 'must be an IANA time zone name, such as UTC or Europe/Paris'),
    paused: z.boolean().default(false),
    /** The sweep each run starts: the body POST /sweeps takes. */
    sweep: z.unknown().refine((v) => v !== undefined, 'is required: the sweep each run starts (the body POST /sweeps takes)'),
  })
  .strict();

export type CreateScheduleDto = z.input<typeof CreateScheduleSchema>;

export interface ScheduleRequest { name: string; cron: string; timezone: string; paused: boolean; spec: SweepSpec }

/** Validates a schedule, its sweep included (fields named `sweep.<field>`), or throws ValidationError naming each bad field. */
export function parseCreateSchedule(body: unknown, maxTrials: number): ScheduleRequest {
  requireJsonObject(body);
  const r = CreateScheduleSchema.safeParse(body);
  const errors = r.success ? [] : fieldErrors(r.error.issues);
  let spec: SweepSpec | undefined;
  const sweep = (body as { sweep?: unknown }).sweep;
  if (sweep !== undefined) {
    try {
      spec = parseSweepSpec(sweep, maxTrials);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      errors.push(...e.errors.map((x) => ({ field: x.field === 'body' ? 'sweep' : `sweep.${x.field}`, message: x.message })));
    }
  }
  if (errors.length || !r.success) throw new ValidationError(errors);
  return { name: r.data.name, cron: r.data.cron, timezone: r.data.timezone, paused: r.data.paused, spec: spec! };
}

/** A schedule as GET /schedules shows it. */
export interface ScheduleView {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  paused: boolean;
  /** Upcoming run times (ISO 8601, UTC). */
  nextRuns: string[];
  /** Runs already started, oldest first: when each was due and when it started. */
  recentRuns: { scheduledAt: string; startedAt: string; workflowId: string }[];
  /** The tag of the sweeps its runs start: GET /sweeps?tag=<sweepTag>. */
  sweepTag: string;
  /** The sweep each run starts (GET /schedules/:id only). */
  sweep?: SweepSpec;
}
