#!/usr/bin/env node
// First step of `npm run up` and `npm test`: install dependencies and generate the Prisma client when needed.
// Plain JavaScript so that it runs on a fresh clone before anything is installed.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const run = (cmd, env = {}) => execSync(cmd, { stdio: 'inherit', env: { ...process.env, ...env } });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

if (!existsSync('node_modules/.package-lock.json') || mtime('package-lock.json') > mtime('node_modules/.package-lock.json')) {
  console.log('[bootstrap] npm ci');
  run('npm ci --no-audit --no-fund');
}
if (!existsSync('generated/prisma/client.ts') || mtime('prisma/schema.prisma') > mtime('generated/prisma/client.ts')) {
  console.log('[bootstrap] prisma generate');
  // `generate` needs no schema engine, but the CLI tries to download one; where that is impossible,
  // pointing it at any existing file lets generation proceed (migrations use the WASM engine instead).
  const env = process.env.PRISMA_SCHEMA_ENGINE_BINARY ? {} : { PRISMA_SCHEMA_ENGINE_BINARY: process.execPath };
  run('npx prisma generate', env);
}
