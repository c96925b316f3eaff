/** User models: validate an upload, store it in Lopper's model format, list them, delete them, refuse a sweep naming one not uploaded. */
import { Inject, Injectable } from '@nestjs/common';
import { packModel } from '../../../../workers/src/pruning/model-format.js';
import { Conflict, NotFound, ValidationError } from '../errors.js';
import { ScheduleClient } from '../schedules/schedule.client.js';
import { parseUserModelUpload, type UserModelView } from './models.dto.js';
import { ModelsRepository } from './models.repository.js';

/**
 * A schedule's record older than this whose schedule Temporal does not know is stale: creating a schedule (its record,
 * then Temporal's create and describe) takes well under it.
 */
export const STALE_SCHEDULE_REF_MS = 60_000;

const notUploaded = (id: string, field: string) => new ValidationError([{ field, message: `no uploaded model ${id} (POST /models first)` }]);

type UserModelRow = NonNullable<Awaited<ReturnType<ModelsRepository['find']>>>;

const view = (r: UserModelRow): UserModelView => ({
  id: r.id, name: r.name, params: r.params, inputShape: r.inputShape as (number | null)[], sizeBytes: r.sizeBytes, createdAt: r.createdAt.toISOString(),
});

@Injectable()
export class ModelsService {
  constructor(
    @Inject(ModelsRepository) private readonly repo: ModelsRepository,
    @Inject(ScheduleClient) private readonly schedules: ScheduleClient,
  ) {}

  async upload(body: unknown): Promise<UserModelView> {
    const m = parseUserModelUpload(body);
    const bytes = packModel({ ...m.header, name: m.name }, m.weights);
    return view(await this.repo.put(bytes, { name: m.name, params: m.params, inputShape: m.inputShape }));
  }

  async list(limit = 50): Promise<UserModelView[]> {
    return (await this.repo.list(limit)).map(view);
  }

  async get(id: string): Promise<UserModelView> {
    const row = await this.repo.find(id);
    if (!row) throw new NotFound(`model ${id} not found`);
    return view(row);
  }

  /**
   * Deletes an uploaded model (its description and stored bytes) that no sweep and no schedule names: 409 naming them
   * otherwise (delete those sweeps, or the schedules, first). Baselines trained from it stay, as DELETE /sweeps leaves
   * baselines: uploading the same files again gives the same id, and later sweeps reuse them.
   *
   * Schedules: those recorded in Postgres when they were created (a schedule created a moment ago included), less records
   * whose schedule Temporal no longer knows and that are older than a create takes (the API stopped between its two
   * writes: removed here), plus any that Temporal's list shows naming the model (schedules created before the records).
   */
  async delete(id: string): Promise<{ id: string; deleted: true; freedBytes: number }> {
    await this.get(id);
    const listed = (await this.schedules.sweeps()).filter((s) => s.spec.userModel === id).map((s) => s.id);
    const recorded = await this.liveScheduleRefs(id, new Set(listed));
    const named = [...new Set([...recorded, ...listed])];
    if (named.length) throw this.namedBySchedules(id, named);
    const r = await this.repo.delete(id);
    if (!r) throw new NotFound(`model ${id} not found`);
    if ('schedules' in r) throw this.namedBySchedules(id, r.schedules); // recorded since the check above
    if ('usedBy' in r) {
      const more = r.count > r.usedBy.length ? ` and ${r.count - r.usedBy.length} more` : '';
      throw new Conflict(`model ${id} is used by ${r.count} sweep(s): ${r.usedBy.join(', ')}${more}; delete them first`);
    }
    return { id, deleted: true, freedBytes: r.freedBytes };
  }

  /**
   * Records, before the schedule is created, that schedule `scheduleId` will name model `modelId`: a 400 on `field` when
   * there is no such model (nothing written). From then on deleting the model answers 409 naming the schedule.
   */
  async reserveForSchedule(scheduleId: string, modelId: string, field: string): Promise<void> {
    if (!(await this.repo.addScheduleRef(scheduleId, modelId))) throw notUploaded(modelId, field);
  }

  /** Forgets schedule `scheduleId`'s record: the schedule is gone, or was never created. */
  async releaseSchedule(scheduleId: string): Promise<void> {
    await this.repo.removeScheduleRef(scheduleId);
  }

  /** The model's recorded schedules that exist or are being created; `listed` exist already (no need to ask Temporal again). */
  private async liveScheduleRefs(id: string, listed: Set<string>): Promise<string[]> {
    const live: string[] = [];
    for (const ref of await this.repo.scheduleRefs(id)) {
      if (listed.has(ref.scheduleId) || (await this.schedules.exists(ref.scheduleId))) live.push(ref.scheduleId);
      else if (Date.now() - ref.createdAt.getTime() > STALE_SCHEDULE_REF_MS) await this.repo.removeScheduleRef(ref.scheduleId);
      else live.push(ref.scheduleId); // being created now
    }
    return live;
  }

  private namedBySchedules(id: string, schedules: string[]): Conflict {
    return new Conflict(`model ${id} is named by schedule(s) ${schedules.join(', ')}: delete them first`);
  }

  /** A 400 on `field` (where a sweep names the model) unless `id` is an uploaded model. */
  async requireUploaded(id: string, field: string): Promise<void> {
    if (!(await this.repo.exists(id))) throw notUploaded(id, field);
  }
}
