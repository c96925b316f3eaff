/** User models: validate an upload, store it in Lopper's model format, list them, refuse a sweep naming one not uploaded. */
import { Inject, Injectable } from '@nestjs/common';
import { packModel } from '../../../../workers/src/pruning/model-format.js';
import { NotFound, ValidationError } from '../errors.js';
import { parseUserModelUpload, type UserModelView } from './models.dto.js';
import { ModelsRepository } from './models.repository.js';

type UserModelRow = NonNullable<Awaited<ReturnType<ModelsRepository['find']>>>;

const view = (r: UserModelRow): UserModelView => ({
  id: r.id, name: r.name, params: r.params, inputShape: r.inputShape as (number | null)[], sizeBytes: r.sizeBytes, createdAt: r.createdAt.toISOString(),
});

@Injectable()
export class ModelsService {
  constructor(@Inject(ModelsRepository) private readonly repo: ModelsRepository) {}

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

  /** A 400 on `field` (where a sweep names the model) unless `id` is an uploaded model. */
  async requireUploaded(id: string, field: string): Promise<void> {
    if (!(await this.repo.exists(id))) throw new ValidationError([{ field, message: `no uploaded model ${id} (POST /models first)` }]);
  }
}
