/**
 * `npm run db:migrate` applies prisma/migrations (like `prisma migrate deploy`, via the WASM engine);
 * `npm run db:migrate -- --check` exits 1 when the database drifts from schema.prisma;
 * `npm run db:migrate -- --create NAME` writes a new migration folder with the SQL that takes the
 * (migrated) database to schema.prisma.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyMigrations, driftSql, MIGRATIONS_DIR } from './engine.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set (npm run up prints it; deploy/services.ts starts a database)');
  process.exit(2);
}
const args = process.argv.slice(2);
const applied = await applyMigrations(url);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'migrations: up to date');
if (args[0] === '--check' || args[0] === '--create') {
  const sql = await driftSql(url);
  if (args[0] === '--check') {
    if (sql) {
      console.error(`drift between the database and schema.prisma:\n${sql}`);
      process.exit(1);
    }
    console.log('no drift');
  } else {
    const name = args[1];
    if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('--create needs a snake_case NAME');
    if (!sql) {
      console.log('schema.prisma matches the migrations: nothing to create');
    } else {
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
      const dir = join(MIGRATIONS_DIR, `${stamp}_${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'migration.sql'), `${sql}\n`);
      console.log(`created ${dir}`);
    }
  }
}
