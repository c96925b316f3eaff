/** Schedules: validate, create, list, describe, delete, trigger, pause. Each run starts a sweep (ScheduledSweepWorkflow). */
import { Inject, Injectable } from '@nestjs/common';
import type { ScheduleDescription, ScheduleSummary } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { scheduleTag, type SweepSpec } from '../../../../workflows/src/spec.js';
import type { ScheduledSweepInput } from '../../../../workflows/src/scheduled-sweep.workflow.js';
import { API_CONFIG, type ApiConfig } from '../config.js';
import { NotFound } from '../errors.js';
import { ModelsService } from '../models/models.service.js';
import { ScheduleClient, type ScheduleMemo } from './schedule.client.js';
import { parseCreateSchedule, type ScheduleView } from './schedules.dto.js';

const NEXT_RUNS = 5;

function view(id: string, memo: Record<string, unknown> | undefined, timezone: string, paused: boolean, info: ScheduleSummary['info']): ScheduleView {
  const m = (memo ?? {}) as Partial<ScheduleMemo>;
  return {
    id, name: m.name ?? id, cron: m.cron ?? '', timezone, paused,
    nextRuns: info.nextActionTimes.slice(0, NEXT_RUNS).map((d) => d.toISOString()),
    recentRuns: info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), startedAt: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    sweepTag: scheduleTag(id),
  };
}

const describedView = (d: ScheduleDescription): ScheduleView => ({
  ...view(d.scheduleId, d.memo, d.spec.timezone ?? 'UTC', d.state.paused, d.info),
  ...(d.action.type === 'startWorkflow' ? { sweep: (d.action.args?.[0] as ScheduledSweepInput | undefined)?.spec as SweepSpec } : {}),
});

@Injectable()
export class SchedulesService {
  constructor(
    @Inject(ScheduleClient) private readonly schedules: ScheduleClient,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
    @Inject(ModelsService) private readonly models: ModelsService,
  ) {}

  async create(body: unknown): Promise<ScheduleView> {
    const r = parseCreateSchedule(body, this.cfg.maxTrials);
    const id = `sc-${randomUUID()}`;
    // The model's record first: a model deleted from here on sees this schedule (or this create finds the model gone).
    if (r.spec.userModel) await this.models.reserveForSchedule(id, r.spec.userModel, 'sweep.userModel');
    try {
      return describedView(await this.schedules.create(id, r));
    } catch (e) {
      // Not created (a cron Temporal refuses, Temporal unreachable): forget the record. If Temporal's answer is unknown, the
      // record stays, and DELETE /models drops it once it is stale.
      if (r.spec.userModel && !(await this.schedules.exists(id).catch(() => true))) await this.models.releaseSchedule(id);
      throw e;
    }
  }

  async list(): Promise<ScheduleView[]> {
    return (await this.schedules.list()).map((s) => view(s.scheduleId, s.memo, s.spec?.timezone ?? 'UTC', s.state.paused, s.info));
  }

  async get(id: string): Promise<ScheduleView> {
    return describedView(await this.schedules.describe(id));
  }

  async delete(id: string): Promise<{ id: string; deleted: true }> {
    try {
      await this.schedules.delete(id);
    } catch (e) {
      if (e instanceof NotFound) await this.models.releaseSchedule(id); // gone already: no record should outlive it
      throw e;
    }
    await this.models.releaseSchedule(id);
    return { id, deleted: true };
  }

  async trigger(id: string): Promise<{ id: string; triggered: true; sweepTag: string }> {
    await this.schedules.trigger(id);
    return { id, triggered: true, sweepTag: scheduleTag(id) };
  }

  async setPaused(id: string, paused: boolean): Promise<ScheduleView> {
    await this.schedules.setPaused(id, paused);
    return this.get(id);
  }
}
