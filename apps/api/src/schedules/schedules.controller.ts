/** HTTP surface of schedules (nightly sweeps): thin, everything else is in SchedulesService. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { SchedulesService } from './schedules.service.js';

@Controller('schedules')
export class SchedulesController {
  constructor(@Inject(SchedulesService) private readonly schedules: SchedulesService) {}

  /** `{ name, cron, timezone?, paused?, sweep: <the body POST /sweeps takes> }`. */
  @Post()
  @HttpCode(201)
  create(@Body() body: unknown) {
    return this.schedules.create(body);
  }

  @Get()
  list() {
    return this.schedules.list();
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.schedules.get(id);
  }

  @Delete(':id')
  remove(@Param('id') id: string) {
    return this.schedules.delete(id);
  }

  /** Starts a run now, whatever the cron says. */
  @Post(':id/trigger')
  @HttpCode(200)
  trigger(@Param('id') id: string) {
    return this.schedules.trigger(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  pause(@Param('id') id: string) {
    return this.schedules.setPaused(id, true);
  }

  @Post(':id/unpause')
  @HttpCode(200)
  unpause(@Param('id') id: string) {
    return this.schedules.setPaused(id, false);
  }
}
