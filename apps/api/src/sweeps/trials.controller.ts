/** HTTP surface of single trials (ids are global: `<sweep id>:<method>:<amount>:<seed>`): thin, the logic is in SweepsService. */
import { Controller, Get, Inject, Param } from '@nestjs/common';
import { SweepsService } from './sweeps.service.js';

@Controller('trials')
export class TrialsController {
  constructor(@Inject(SweepsService) private readonly sweeps: SweepsService) {}

  @Get(':id')
  get(@Param('id') id: string) {
    return this.sweeps.trial(id);
  }

  /** The trial's model as TF.js files (model.json + weights in base64); 409 until the trial is DONE. */
  @Get(':id/model')
  model(@Param('id') id: string) {
    return this.sweeps.trialModel(id);
  }
}
