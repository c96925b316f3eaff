/** HTTP surface of sweeps: thin, everything else is in SweepsService. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { trialsCsv } from '../csv.js';
import { SweepsService } from './sweeps.service.js';
import { parseParetoQuery, parseSweepListQuery, parseTrialQuery } from './sweeps.dto.js';

@Controller('sweeps')
export class SweepsController {
  constructor(@Inject(SweepsService) private readonly sweeps: SweepsService) {}

  @Post()
  @HttpCode(201)
  create(@Body() body: unknown) {
    return this.sweeps.create(body);
  }

  @Get()
  list(@Query() query: Record<string, unknown>) {
    return this.sweeps.list(parseSweepListQuery(query));
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.sweeps.get(id);
  }

  /** JSON, or with ?format=csv a CSV download (text/csv) of the same trials. */
  @Get(':id/trials')
  async trials(@Param('id') id: string, @Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: Response) {
    const q = parseTrialQuery(query);
    const trials = await this.sweeps.trials(id, q);
    if (q.format === 'json') return trials;
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${id.replace(/[^\w.-]/g, '_')}-trials.csv"`);
    return trialsCsv(trials);
  }

  @Get(':id/summary')
  summary(@Param('id') id: string) {
    return this.sweeps.summary(id);
  }

  @Get(':id/pareto')
  pareto(@Param('id') id: string, @Query() query: Record<string, unknown>) {
    return this.sweeps.pareto(id, parseParetoQuery(query).objective);
  }

  /** Deletes an ended sweep, its trials and the stored models nothing else references (409 while it runs). */
  @Delete(':id')
  remove(@Param('id') id: string) {
    return this.sweeps.delete(id);
  }

  /** Runs the trials of an ended sweep that are not DONE again (409 while it runs, or when every trial is DONE). */
  @Post(':id/resume')
  @HttpCode(200)
  resume(@Param('id') id: string) {
    return this.sweeps.resume(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string) {
    return this.sweeps.cancel(id);
  }
}
