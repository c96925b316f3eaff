/** Starts the real services once for all integration tests (Postgres + Temporal dev server) and migrates. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServices, type Services } from '../deploy/services.js';
import { applyMigrations } from '../prisma/src/engine.js';

declare global {
  // eslint-disable-next-line no-var
  var __LOPPER_SERVICES__: Services | undefined;
}

export async function setup(): Promise<void> {
  const dataDir = process.env.LOPPER_TEST_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'lopper-test-'));
  const s = await startServices({ dataDir, databaseName: 'lopper_test', log: (m) => console.log(`\n[test services] ${m}`) });
  globalThis.__LOPPER_SERVICES__ = s;
  await applyMigrations(s.databaseUrl);
  process.env.DATABASE_URL = s.databaseUrl;
  process.env.TEMPORAL_ADDRESS = s.temporalAddress;
  process.env.LOPPER_TEST_DATA_DIR = dataDir;
}

export async function teardown(): Promise<void> {
  await globalThis.__LOPPER_SERVICES__?.stop();
}
