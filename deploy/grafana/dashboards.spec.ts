import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, DATASOURCE, dashboardJson } from './dashboards.js';
import { interpolate } from './interpolate.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');
interface Target { refId: string; datasource: { uid: string }; rawSql: string }
interface Panel { title: string; type: string; gridPos: { x: number; y: number; w: number; h: number }; targets: Target[] }

describe('Grafana dashboards', () => {
  it.each(Object.keys(DASHBOARDS))('%s is what npm run grafana:dashboards writes (regenerate after editing dashboards.ts)', (file) => {
    expect(readFileSync(join(dir, file), 'utf8')).toBe(dashboardJson(DASHBOARDS[file]()));
  });

  it.each(Object.keys(DASHBOARDS))('%s: every panel queries the provisioned data source, panels do not overlap', (file) => {
    const d = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { panels: Panel[]; templating: { list: { datasource?: { uid: string } }[] } };
    for (const p of d.panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) expect([p.title, t.datasource.uid]).toEqual([p.title, DATASOURCE.uid]);
    }
    for (const v of d.templating.list) if (v.datasource) expect(v.datasource.uid).toBe(DATASOURCE.uid);
    const cells = new Map<string, string>();
    for (const p of d.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect([`${x},${y}`, cells.get(`${x},${y}`) ?? p.title]).toEqual([`${x},${y}`, p.title]);
          cells.set(`${x},${y}`, p.title);
        }
      }
    }
  });
});

describe('interpolate (Grafana SQL templating, the subset the dashboards use)', () => {
  const ctx = { vars: { sweep: ["sw-'1"], method: ['a', 'b'] }, from: new Date('2026-11-29T00:00:00Z'), to: new Date('2026-11-29T06:00:00Z') };

  it('quotes each value and doubles quotes, expands the time macros', () => {
    expect(interpolate('x = ${sweep:sqlstring} AND m IN (${method:sqlstring})', ctx)).toBe("x = 'sw-''1' AND m IN ('a','b')");
    expect(interpolate('WHERE $__timeFilter(c AT TIME ZONE \'UTC\')', ctx)).toBe("WHERE c AT TIME ZONE 'UTC' BETWEEN '2026-11-29T00:00:00.000Z' AND '2026-11-29T06:00:00.000Z'");
    expect(interpolate('SELECT $__timeGroupAlias(c, 1h), 1', ctx)).toBe('SELECT floor(extract(epoch from c)/3600)*3600 AS "time", 1');
    expect(interpolate('SELECT $__timeGroupAlias(c, 5m)', ctx)).toBe('SELECT floor(extract(epoch from c)/300)*300 AS "time"');
  });

  it('refuses what it does not implement, and variables with no value', () => {
    expect(() => interpolate('x = $sweep', ctx)).toThrow('unsupported Grafana syntax in a dashboard query: $sweep');
    expect(() => interpolate("x = '${sweep}'", ctx)).toThrow('unsupported Grafana syntax in a dashboard query: ${sweep}');
    expect(() => interpolate('$__timeFrom()', ctx)).toThrow('unsupported Grafana syntax in a dashboard query: $__timeFrom');
    expect(() => interpolate('x = ${tag:sqlstring}', ctx)).toThrow('no value for the variable tag');
    expect(() => interpolate('$__timeGroupAlias(c, $__interval)', ctx)).toThrow('unsupported $__timeGroup interval');
  });
});
