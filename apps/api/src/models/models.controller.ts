/** HTTP surface of user models: thin, everything else is in ModelsService. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ModelsService } from './models.service.js';
import { pageLimit } from '../query.js';

@Controller('models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  /** Upload a TF.js LayersModel: `{ name, modelJson: <model.json>, weights: { "<path in the manifest>": "<base64>" } }`. */
  @Post()
  @HttpCode(201)
  upload(@Body() body: unknown) {
    return this.models.upload(body);
  }

  /** Uploaded models, newest first. */
  @Get()
  list(@Query('limit') limit?: string) {
    return this.models.list(pageLimit(limit));
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.models.get(id);
  }

  /** Deletes a model no sweep or schedule names (409 naming them otherwise). */
  @Delete(':id')
  delete(@Param('id') id: string) {
    return this.models.delete(id);
  }
}
