/** User models: validate an upload, store it in Lopper's model format, list them, delete them, refuse a sweep naming one not uploaded. */
import { Inject, Injectable } from '@nestjs/common';
import { packModel } from '../../../../workers/src/pruning/model-format.js';
import { Conflict, NotFound, ValidationError } from '../errors.js';
import { ScheduleClient } from '../schedules/schedule.client.js';
import { parseUserModelUpload, type UserModelView } from './models.dto.js';
import { ModelsRepository } from './models.repository.js';

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
   */
  async delete(id: string): Promise<{ id: string; deleted: true; freedBytes: number }> {
    await this.get(id);
    const schedules = (await this.schedules.sweeps()).filter((s) => s.spec.userModel === id).map((s) => s.id);
    if (schedules.length) throw new Conflict(`model ${id} is named by schedule(s) ${schedules.join(', ')}: delete them first`);
    const r = await this.repo.delete(id);
    if (!r) throw new NotFound(`model ${id} not found`);
    if ('usedBy' in r) {
      const more = r.count > r.usedBy.length ? ` and ${r.count - r.usedBy.length} more` : '';
      throw new Conflict(`model ${id} is used by ${r.count} sweep(s): ${r.usedBy.join(', ')}${more}; delete them first`);
    }
    return { id, deleted: true, freedBytes: r.freedBytes };
  }

  /** A 400 on `field` (where a sweep names the model) unless `id` is an uploaded model. */
  async requireUploaded(id: string, field: string): Promise<void> {
    if (!(await this.repo.exists(id))) throw new ValidationError([{ field, message: `no uploaded model ${id} (POST /models first)` }]);
  }
}
