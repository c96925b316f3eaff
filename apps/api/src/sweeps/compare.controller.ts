/** GET /compare?sweeps=a,b,…: finished experiments side by side (tonight's sweep against last night's, say). Thin. */
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { parseCompareQuery } from './sweeps.dto.js';
import { SweepsService } from './sweeps.service.js';

@Controller('compare')
export class CompareController {
  constructor(@Inject(SweepsService) private readonly sweeps: SweepsService) {}

  @Get()
  compare(@Query() query: Record<string, unknown>) {
    return this.sweeps.compare(parseCompareQuery(query));
  }
}
