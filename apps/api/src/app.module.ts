import { Controller, Get, Inject, Injectable, Module, type DynamicModule, type OnModuleDestroy } from '@nestjs/common';
import { createPrisma, type PrismaClient } from '../../../prisma/src/client.js';
import { API_CONFIG, type ApiConfig } from './config.js';
import { openApiDocument } from './openapi.js';
import { ModelsController } from './models/models.controller.js';
import { ModelsRepository } from './models/models.repository.js';
import { ModelsService } from './models/models.service.js';
import { SweepsController } from './sweeps/sweeps.controller.js';
import { PRISMA, SweepsRepository } from './sweeps/sweeps.repository.js';
import { SweepsService } from './sweeps/sweeps.service.js';
import { SweepWorkflowClient } from './sweeps/workflow.client.js';
import { TrialsController } from './sweeps/trials.controller.js';
import { CompareController } from './sweeps/compare.controller.js';
import { ScheduleClient } from './schedules/schedule.client.js';
import { SchedulesController } from './schedules/schedules.controller.js';
import { SchedulesService } from './schedules/schedules.service.js';

@Controller()
class MetaController {
  private readonly doc = openApiDocument();
  @Get('docs')
  docs() {
    return this.doc;
  }
  @Get('health')
  health() {
    return { ok: true };
  }
}

@Injectable()
class PrismaLifecycle implements OnModuleDestroy {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}
  async onModuleDestroy() {
    await this.prisma.$disconnect();
  }
}

@Module({})
export class AppModule {
  static forConfig(cfg: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [SweepsController, TrialsController, CompareController, SchedulesController, ModelsController, MetaController],
      providers: [
        { provide: API_CONFIG, useValue: cfg },
        { provide: PRISMA, useFactory: () => createPrisma(cfg.databaseUrl) },
        PrismaLifecycle,
        SweepsRepository,
        ModelsRepository,
        ModelsService,
        SweepWorkflowClient,
        SweepsService,
        ScheduleClient,
        SchedulesService,
      ],
    };
  }
}
