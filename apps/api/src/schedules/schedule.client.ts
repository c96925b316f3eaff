/** Temporal Schedules that start ScheduledSweepWorkflow: the schedules API's only door to Temporal. */
import { Inject, Injectable } from '@nestjs/common';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import { WORKFLOW_TASK_QUEUE } from '../../../../workflows/src/constants.js';
import type { ScheduledSweepInput, ScheduledSweepWorkflow } from '../../../../workflows/src/scheduled-sweep.workflow.js';
import type { SweepSpec } from '../../../../workflows/src/spec.js';
import { NotFound, ValidationError } from '../errors.js';
import { SweepWorkflowClient } from '../sweeps/workflow.client.js';
import type { ScheduleRequest } from './schedules.dto.js';

export const SCHEDULED_WORKFLOW = 'ScheduledSweepWorkflow';

/** What Temporal keeps that its spec does not give back as written (it stores cron as calendars). */
export interface ScheduleMemo { name: string; cron: string }

@Injectable()
export class ScheduleClient {
  constructor(@Inject(SweepWorkflowClient) private readonly temporal: SweepWorkflowClient) {}

  private async schedules() {
    return (await this.temporal.get()).client.schedule;
  }

  /**
   * Creates the schedule. A run that comes due while the previous one still runs is skipped; runs missed while the
   * server was down are caught up within an hour. A cron Temporal rejects is a 400 on `cron`.
   */
  async create(id: string, r: ScheduleRequest): Promise<ScheduleDescription> {
    const schedules = await this.schedules();
    try {
      const handle = await schedules.create<typeof ScheduledSweepWorkflow>({
        scheduleId: id,
        spec: { cronExpressions: [r.cron], timezone: r.timezone },
        action: { type: 'startWorkflow', workflowType: SCHEDULED_WORKFLOW, workflowId: `${id}-run`, taskQueue: WORKFLOW_TASK_QUEUE, args: [{ scheduleId: id, spec: r.spec }] },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
        state: { paused: r.paused, note: r.paused ? 'created paused' : undefined },
        memo: { name: r.name, cron: r.cron } satisfies ScheduleMemo,
      });
      return await handle.describe();
    } catch (e) {
      // Temporal's INVALID_ARGUMENT (a cron it cannot parse) reaches the client as a TypeError naming the problem.
      if (e instanceof TypeError) throw new ValidationError([{ field: 'cron', message: `${e.message} ("${r.cron}")` }]);
      throw e;
    }
  }

  /** Lopper's schedules (those that start ScheduledSweepWorkflow). */
  async list(): Promise<ScheduleSummary[]> {
    const out: ScheduleSummary[] = [];
    for await (const s of (await this.schedules()).list()) if (s.action?.workflowType === SCHEDULED_WORKFLOW) out.push(s);
    return out;
  }

  /** Each schedule's id and the sweep it starts (one describe per schedule: the listing does not carry the spec). */
  async sweeps(): Promise<{ id: string; spec: SweepSpec }[]> {
    const out: { id: string; spec: SweepSpec }[] = [];
    for (const s of await this.list()) {
      const d = await this.describe(s.scheduleId).catch((e: unknown) => {
        if (e instanceof NotFound) return null; // deleted since it was listed
        throw e;
      });
      const input = d?.action.type === 'startWorkflow' ? (d.action.args?.[0] as ScheduledSweepInput | undefined) : undefined;
      if (input) out.push({ id: s.scheduleId, spec: input.spec });
    }
    return out;
  }

  async describe(id: string): Promise<ScheduleDescription> {
    return this.notFound(id, async (s) => {
      const d = await s.getHandle(id).describe();
      if (d.action.type !== 'startWorkflow' || d.action.workflowType !== SCHEDULED_WORKFLOW) throw new NotFound(`schedule ${id} not found`);
      return d;
    });
  }

  /** Whether Temporal knows Lopper's schedule `id` (read from the schedule itself, not the lagging list). */
  async exists(id: string): Promise<boolean> {
    return this.describe(id).then(
      () => true,
      (e: unknown) => {
        if (e instanceof NotFound) return false;
        throw e;
      },
    );
  }

  async delete(id: string): Promise<void> {
    await this.describe(id);
    await this.notFound(id, (s) => s.getHandle(id).delete());
  }

  /** Starts a run now (also while another runs). */
  async trigger(id: string): Promise<void> {
    await this.describe(id);
    await this.notFound(id, (s) => s.getHandle(id).trigger(ScheduleOverlapPolicy.ALLOW_ALL));
  }

  async setPaused(id: string, paused: boolean): Promise<void> {
    await this.describe(id);
    await this.notFound(id, (s) => (paused ? s.getHandle(id).pause('paused through the API') : s.getHandle(id).unpause('unpaused through the API')));
  }

  private async notFound<T>(id: string, f: (s: Awaited<ReturnType<ScheduleClient['schedules']>>) => Promise<T>): Promise<T> {
    try {
      return await f(await this.schedules());
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw new NotFound(`schedule ${id} not found`);
      throw e;
    }
  }
}
