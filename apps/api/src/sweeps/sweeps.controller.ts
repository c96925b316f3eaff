/** HTTP surface of sweeps: thin, everything else is in SweepsService. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { csvDownload } from '../csv-response.js';
import { paretoCsv, summaryCsv, trialsCsv } from '../csv.js';
import { SweepsService } from './sweeps.service.js';
import { parseParetoQuery, parseSummaryQuery, parseSweepListQuery, parseTrialQuery } from './sweeps.dto.js';

@Controller('sweeps')
export class SweepsController {
  constructor(@Inject(SweepsService) private readonly sweeps: SweepsService) {}

  @Post()
  @HttpCode(201)
  create(@Body() body: unknown) {
    return this.sweeps.create(body);
  }

  /** What POST /sweeps would run for this body (the grid's size, its axes, the spec with defaults), written nowhere. */
  @Post('validate')
  @HttpCode(200)
  validate(@Body() body: unknown) {
    return this.sweeps.plan(body);
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
    return q.format === 'csv' ? csvDownload(res, `${id}-trials`, trialsCsv(trials)) : trials;
  }

  /** The trials and baselines being computed now, with each one's phase and training progress. */
  @Get(':id/progress')
  progress(@Param('id') id: string) {
    return this.sweeps.progress(id);
  }

  @Get(':id/summary')
  async summary(@Param('id') id: string, @Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: Response) {
    const { format } = parseSummaryQuery(query);
    const summary = await this.sweeps.summary(id);
    return format === 'csv' ? csvDownload(res, `${id}-summary`, summaryCsv(summary)) : summary;
  }

  /** csv: every finished trial, on the front or not (onFront, dominatedBy). */
  @Get(':id/pareto')
  async pareto(@Param('id') id: string, @Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: Response) {
    const { objective, format } = parseParetoQuery(query);
    const pareto = await this.sweeps.pareto(id, objective);
    return format === 'csv' ? csvDownload(res, `${id}-pareto-${objective}`, paretoCsv(pareto)) : pareto;
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
