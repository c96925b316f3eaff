/** Builds and starts the Nest application (used by main.ts and by tests). */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { AppModule } from './app.module.js';
import type { ApiConfig } from './config.js';
import { ErrorsFilter } from './errors.filter.js';

export async function startApi(cfg: ApiConfig): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(AppModule.forConfig(cfg), { logger: ['error', 'warn'] });
  app.useGlobalFilters(new ErrorsFilter());
  app.enableShutdownHooks();
  await app.listen(cfg.port, cfg.host);
  const addr = app.getHttpServer().address() as { port: number };
  return { app, url: `http://${cfg.host}:${addr.port}` };
}
