/** User models: validate an upload, store it in Lopper's model format, answer whether an id exists. */
import { Inject, Injectable } from '@nestjs/common';
import { packModel } from '../../../../workers/src/pruning/model-format.js';
import { parseUserModelUpload, type UserModelView } from './models.dto.js';
import { ModelsRepository } from './models.repository.js';

@Injectable()
export class ModelsService {
  constructor(@Inject(ModelsRepository) private readonly repo: ModelsRepository) {}

  async upload(body: unknown): Promise<UserModelView> {
    const m = parseUserModelUpload(body);
    const bytes = packModel({ ...m.header, name: m.name }, m.weights);
    const id = await this.repo.put(bytes);
    return { id, name: m.name, params: m.params, inputShape: m.inputShape, sizeBytes: bytes.length };
  }

  exists(id: string): Promise<boolean> {
    return this.repo.exists(id);
  }
}
