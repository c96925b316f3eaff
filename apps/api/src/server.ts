/** Builds and starts the Nest application (used by main.ts and by tests). */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { bearerTokenMiddleware } from './auth.js';
import type { ApiConfig } from './config.js';
import { ErrorsFilter } from './errors.filter.js';

export async function startApi(cfg: ApiConfig): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(cfg), { logger: ['error', 'warn'] });
  // LOPPER_API_TOKEN: checked first, before a body is read.
  if (cfg.apiToken) app.use(bearerTokenMiddleware(cfg.apiToken));
  // Uploaded user models arrive as JSON with base64 weights (POST /models checks their size itself).
  app.useBodyParser('json', { limit: '80mb' });
  app.useGlobalFilters(new ErrorsFilter());
  app.enableShutdownHooks();
  await app.listen(cfg.port, cfg.host);
  const addr = app.getHttpServer().address() as { port: number };
  return { app, url: `http://${cfg.host}:${addr.port}` };
}
