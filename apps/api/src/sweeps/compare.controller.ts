/** GET /compare?sweeps=a,b,…: finished experiments side by side (tonight's sweep against last night's, say). Thin. */
import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { csvDownload } from '../csv-response.js';
import { compareCsv } from '../csv.js';
import { parseCompareQuery } from './sweeps.dto.js';
import { SweepsService } from './sweeps.service.js';

@Controller('compare')
export class CompareController {
  constructor(@Inject(SweepsService) private readonly sweeps: SweepsService) {}

  /** JSON, or with ?format=csv a CSV download of the cells (sweepId first). */
  @Get()
  async compare(@Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: Response) {
    const { sweeps, format } = parseCompareQuery(query);
    const comparison = await this.sweeps.compare(sweeps);
    return format === 'csv' ? csvDownload(res, 'compare', compareCsv(comparison)) : comparison;
  }
}
