#!/usr/bin/env node
// Workflow code must be deterministic: it may import only relative modules and @temporalio/workflow
// (plus type-only imports), never Node builtins or other packages (I/O, clocks, randomness).
// `npm run lint` runs it; workflows/src/lint.spec.ts runs it as part of `npm test`.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ALLOWED_PACKAGES = ['@temporalio/workflow'];
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const IMPORT_RE = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC_RE = /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Violations in one file's source text. */
export function lintSource(source, file = '<source>') {
  const out = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    const [, , typeOnly, spec] = m;
    if (typeOnly || spec.startsWith('.')) continue;
    if (BUILTINS.has(spec)) out.push(`${file}: imports Node builtin "${spec}"`);
    else if (!ALLOWED_PACKAGES.includes(spec)) out.push(`${file}: imports "${spec}" (workflow code may import only ${ALLOWED_PACKAGES.join(', ')} and relative modules)`);
  }
  for (const m of source.matchAll(DYNAMIC_RE)) out.push(`${file}: dynamic import/require of "${m[1]}"`);
  if (/\bprocess\.env\b/.test(source)) out.push(`${file}: reads process.env`);
  return out;
}

export function lintWorkflows(dir) {
  const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
  return files.flatMap((f) => lintSource(readFileSync(join(dir, f), 'utf8'), relative(process.cwd(), join(dir, f))));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = lintWorkflows(join(fileURLToPath(new URL('..', import.meta.url)), 'workflows', 'src'));
  for (const p of problems) console.error(p);
  console.log(problems.length ? `${problems.length} problem(s)` : 'workflows: deterministic imports only');
  process.exit(problems.length ? 1 : 0);
}
