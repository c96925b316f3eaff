/** Writes the dashboards (deploy/grafana/dashboards.ts) as the JSON files Grafana provisions: npm run grafana:dashboards. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, dashboardJson } from './dashboards.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');
mkdirSync(dir, { recursive: true });
for (const [file, build] of Object.entries(DASHBOARDS)) {
  writeFileSync(join(dir, file), dashboardJson(build()));
  console.log(`wrote ${join('deploy/grafana/dashboards', file)}`);
}
