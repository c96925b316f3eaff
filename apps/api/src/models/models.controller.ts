/** HTTP surface of user models: thin, everything else is in ModelsService. */
import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ModelsService } from './models.service.js';

@Controller('models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  /** Upload a TF.js LayersModel: `{ name, modelJson: <model.json>, weights: { "<path in the manifest>": "<base64>" } }`. */
  @Post()
  @HttpCode(201)
  upload(@Body() body: unknown) {
    return this.models.upload(body);
  }
}
