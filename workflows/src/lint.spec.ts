import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { lintSource, lintWorkflows } from '../../scripts/lint-workflows.mjs';

describe('workflow lint', () => {
  it('finds nothing in workflows/src', () => {
    expect(lintWorkflows(dirname(fileURLToPath(import.meta.url)))).toEqual([]);
  });
  it('bans Node builtins, other packages, dynamic imports and env reads', () => {
    const bad = [
      "import { readFileSync } from 'node:fs';",
      "import crypto from 'crypto';",
      "import { PrismaClient } from '@prisma/client';",
      "const x = await import('./y.js');",
      'const u = process.env.URL;',
    ].join('\n');
    expect(lintSource(bad, 'bad.ts')).toHaveLength(5);
    expect(lintSource("import type { X } from '@prisma/client';\nimport { proxyActivities } from '@temporalio/workflow';\nimport { a } from './a.js';")).toEqual([]);
  });
});
