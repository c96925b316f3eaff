/**
 * Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm), driven through the
 * pg driver adapter. Used where the native schema-engine binary cannot be downloaded: it creates,
 * applies and checks the real migration folders under prisma/migrations, the same ones that
 * `prisma migrate deploy` applies (same _prisma_migrations bookkeeping).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PRISMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');

const NO_FILTERS = { externalTables: [], externalEnums: [] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Engine = any;
let bgModule: Promise<Record<string, unknown>> | undefined;

async function loadWasm(): Promise<Record<string, unknown>> {
  bgModule ??= (async () => {
    const bg = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as Record<string, unknown>;
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
    const wasm = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly;
    // The engine arms 10 s timers (guards it races against database calls) and leaves them armed after it finishes;
    // unref them so that they never keep a finished process (a CLI run, the test runner) alive for those 10 s.
    const imports: Record<string, unknown> = { ...bg };
    for (const [name, fn] of Object.entries(bg)) {
      if (name.startsWith('__wbg_setTimeout_') && typeof fn === 'function') {
        imports[name] = (...args: unknown[]) => {
          const timer = (fn as (...a: unknown[]) => unknown)(...args);
          (timer as { unref?: () => void } | null)?.unref?.();
          return timer;
        };
      }
    }
    const { instance } = await wasm.instantiate(readFileSync(wasmPath), { './schema_engine_bg.js': imports });
    (bg.__wbg_set_wasm as (e: unknown) => void)(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return bgModule;
}

/**
 * adapter-pg rejects Postgres' internal one-byte `"char"` type (oid 18), which the engine's
 * introspection queries select from pg_catalog. Hand it over as text, which the engine accepts.
 */
class IntrospectionPool extends pg.Pool {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const out = (super.query as any)(...args);
    if (!(out instanceof Promise)) return out;
    return out.then((r: pg.QueryResult) => {
      for (const f of r.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
      return r;
    });
  }
}

export async function openEngine(databaseUrl: string): Promise<{ engine: Engine; close: () => Promise<void> }> {
  const bg = await loadWasm();
  const schema = readFileSync(SCHEMA_PATH, 'utf8');
  const pool = new IntrospectionPool({ connectionString: databaseUrl, max: 1 });
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  const engine = await (bg.SchemaEngine as { new: (...a: unknown[]) => Promise<Engine> }).new(
    { datamodels: [['schema.prisma', schema]] },
    () => {},
    adapter,
  );
  return {
    engine,
    close: async () => {
      engine.free();
      await pool.end();
    },
  };
}

export function migrationsList() {
  const dirs = existsSync(MIGRATIONS_DIR)
    ? readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    : [];
  const lockPath = join(MIGRATIONS_DIR, 'migration_lock.toml');
  return {
    baseDir: MIGRATIONS_DIR,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((path) => ({
      path,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: readFileSync(join(MIGRATIONS_DIR, path, 'migration.sql'), 'utf8') } },
    })),
  };
}

/** Applies every pending migration folder (like `prisma migrate deploy`). Returns the names applied. */
/** Applies the migration folders not yet applied (those up to `upTo`, a folder name, when given); returns their names. */
export async function applyMigrations(databaseUrl: string, upTo?: string): Promise<string[]> {
  const { engine, close } = await openEngine(databaseUrl);
  try {
    const list = migrationsList();
    if (upTo !== undefined) list.migrationDirectories = list.migrationDirectories.filter((d) => d.path <= upTo);
    const out = await engine.applyMigrations({ migrationsList: list, filters: NO_FILTERS });
    return out.appliedMigrationNames as string[];
  } finally {
    await close();
  }
}

/** SQL that takes the live database to schema.prisma; empty when there is no drift. */
export async function driftSql(databaseUrl: string): Promise<string> {
  const { engine, close } = await openEngine(databaseUrl);
  try {
    const schema = readFileSync(SCHEMA_PATH, 'utf8');
    const out = await engine.diff({
      from: { tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content: schema }], configDir: PRISMA_DIR },
      to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] },
      script: true,
      shadowDatabaseUrl: null,
      exitCode: null,
      filters: NO_FILTERS,
    });
    return (out.stdout as string).replace(/^-- This is an empty migration\.\s*$/m, '').trim();
  } finally {
    await close();
  }
}
