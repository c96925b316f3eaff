/**
 * Lopper's Grafana dashboards as code (Grafana Foundation SDK; Grafana 11.3 or later, for the XY chart), reading the
 * sweep tables through a read-only Postgres data source (`grafana-role.sql`). `npm run grafana:dashboards` writes them
 * to deploy/grafana/dashboards/, where Grafana's file provisioning (provisioning/) loads them.
 *
 * - "Lopper / Sweep": one sweep's accuracy-vs-compression scatter with its Pareto front (the trials no other beats on
 *   both: GET /sweeps/:id/pareto), the front as a table, the same against the gzip size, the nonzero parameters and the
 *   measured speedup (?objective=), mean ± sd per method x amount x fine-tuning setting over the
 *   seeds (GET /summary),
 *   progress and every trial.
 * - "Lopper / Team": sweeps in the time range (by tag: a schedule's nightly runs), the best accuracy each reached at a
 *   chosen compression, trials finished per hour, time per trial by backend, recent failures.
 *
 * Every variable is interpolated as `${name:sqlstring}` (quoted, quotes doubled) and every timestamp column (UTC wall
 * time in `timestamp(3)`) is read `AT TIME ZONE 'UTC'`: the queries mean the same whatever the session's time zone.
 * test/grafana.test.ts runs every query of both files against Postgres as the read-only role and checks the front and the
 * summary against the API's.
 */
import * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as xychart from '@grafana/grafana-foundation-sdk/xychart';
import { PARETO_OBJECTIVES, type ParetoObjective } from '../../apps/api/src/sweeps/sweeps.dto.js';

/** The provisioned data source (provisioning/datasources/lopper.yaml). */
export const DATASOURCE = { type: 'grafana-postgresql-datasource', uid: 'lopper-postgres' } as const;

interface SqlQuery extends cog.Dataquery { refId: string; datasource: typeof DATASOURCE; rawSql: string; format: 'table' | 'time_series'; rawQuery: true; editorMode: 'code' }

/** A raw-SQL target of the Postgres data source. */
class Sql implements cog.Builder<cog.Dataquery> {
  constructor(private readonly refId: string, private readonly rawSql: string, private readonly format: 'table' | 'time_series' = 'table') {}
  build(): SqlQuery {
    return { refId: this.refId, datasource: DATASOURCE, rawSql: this.rawSql, format: this.format, rawQuery: true, editorMode: 'code', _implementsDataqueryVariant() {} };
  }
}

const utc = (col: string) => `${col} AT TIME ZONE 'UTC'`;
const DONE = `t.status = 'DONE'`;
/** The measured inference speedup of table `t`'s row (NULL where a latency is 0 or missing: the API's `speedup`). */
const speedupOf = (t: string) => `CASE WHEN ${t}."latencyMs" <> 0 AND ${t}."baselineLatencyMs" <> 0 THEN ${t}."baselineLatencyMs" / ${t}."latencyMs" END`;
const SPEEDUP = speedupOf('t');
const PARAMS_REMOVED = `CASE WHEN t."baselineParams" <> 0 THEN 1 - t."totalParams"::float8 / t."baselineParams" END`;
const BASELINE_ACCURACY = (sweep: string) => `(SELECT avg(b.accuracy) FROM "SweepBaseline" sb JOIN "Baseline" b ON b.key = sb."baselineKey" WHERE sb."sweepId" = ${sweep})`;
/** The selected sweep's trials of the selected models, methods and fine-tuning settings. */
const IN_SWEEP = (t: string) =>
  `${t}."sweepId" = \${sweep:sqlstring} AND ${t}.model IN (\${model:sqlstring}) AND ${t}.method IN (\${method:sqlstring}) AND ${t}.finetune IN (\${finetune:sqlstring})`;
const TAGGED = `(\${tag:sqlstring} = '(any)' OR \${tag:sqlstring} = ANY(s.tags))`;
const MIN_COMPRESSION = `\${min_compression:sqlstring}::float8`;

const TRIAL_LABEL = `t.model || ' ' || t.method || ' ' || t.amount || ' seed ' || t.seed || CASE WHEN t.finetune <> 'default' THEN ' ' || t.finetune ELSE '' END`;

/**
 * What the fronts trade accuracy against, GET /sweeps/:id/pareto's objectives: the column each shows and its SQL for a
 * row of table alias `t`; whether more ('>') or less ('<') is better comes from the API's PARETO_OBJECTIVES.
 */
const COLUMNS: Record<ParetoObjective, { alias: string; of: (t: string) => string }> = {
  compression: { alias: 'compression', of: (t) => `${t}."compressionRate"` },
  'nonzero-params': { alias: 'nonzero params', of: (t) => `${t}."nonzeroParams"` },
  'gzip-size': { alias: 'gzip size', of: (t) => `${t}."gzipBytes"` },
  speedup: { alias: 'speedup', of: speedupOf },
};

/** Every finished trial of the selection with its accuracy and the objective (the API's points: compression known too). */
function pointsSql(objective: ParetoObjective): string {
  const { alias, of } = COLUMNS[objective];
  return `SELECT ${of('t')} AS "${alias}", t.accuracy AS "accuracy", ${TRIAL_LABEL} AS "trial"
FROM "Trial" t WHERE ${IN_SWEEP('t')} AND ${DONE} AND t.accuracy IS NOT NULL AND t."compressionRate" IS NOT NULL AND ${of('t')} IS NOT NULL
ORDER BY 1, 2`;
}

/**
 * The finished trials of the selection that no other beats on accuracy (up) and the objective, as pareto.ts decides it
 * (at least as good on both, better on one), ordered from the most accurate (the API's order).
 */
function frontSql(objective: ParetoObjective): string {
  const { alias, of } = COLUMNS[objective];
  const better = PARETO_OBJECTIVES[objective].direction === 'max' ? '>' : '<';
  const more = [['t."compressionRate"', 'compression'], ['t."nonzeroParams"', 'nonzero params'], [PARAMS_REMOVED, 'params removed'], [SPEEDUP, 'speedup'], ['t."gzipBytes"', 'gzip size']]
    .filter(([, name]) => name !== alias).map(([x, name]) => `${x} AS "${name}"`).join(', ');
  const [x, o] = [of('t'), of('o')];
  return `SELECT ${x} AS "${alias}", t.accuracy AS "accuracy", t.model, t.method, t.amount, t.seed, t.finetune AS "fine-tuning", t."accuracyDrop" AS "drop",
  ${more}, t.id AS "trial id"
FROM "Trial" t
WHERE ${IN_SWEEP('t')} AND ${DONE} AND t.accuracy IS NOT NULL AND t."compressionRate" IS NOT NULL AND ${x} IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM "Trial" o WHERE ${IN_SWEEP('o')} AND o.status = 'DONE' AND o."compressionRate" IS NOT NULL AND ${o} IS NOT NULL
      AND o.accuracy >= t.accuracy AND ${o} ${better}= ${x} AND (o.accuracy > t.accuracy OR ${o} ${better} ${x}))
ORDER BY 1 ${better === '>' ? 'ASC' : 'DESC'}, 2, t.id`;
}

/** The queries, by name; each panel below takes one. */
export const SQL = {
  // to_char of the stored UTC wall time (a timestamptz would be printed in the session's zone).
  sweepVariable: `SELECT s.id AS __value, s.name || ' · ' || to_char(s."createdAt", 'YYYY-MM-DD HH24:MI') || ' UTC · ' || s.status AS __text
FROM "Sweep" s ORDER BY s."createdAt" DESC, s.id LIMIT 500`,
  modelVariable: `SELECT DISTINCT t.model FROM "Trial" t WHERE t."sweepId" = \${sweep:sqlstring} ORDER BY 1`,
  methodVariable: `SELECT DISTINCT t.method FROM "Trial" t WHERE t."sweepId" = \${sweep:sqlstring} ORDER BY 1`,
  finetuneVariable: `SELECT DISTINCT t.finetune FROM "Trial" t WHERE t."sweepId" = \${sweep:sqlstring} ORDER BY 1`,
  progress: `SELECT count(*) FILTER (WHERE t.status = 'DONE') AS "done", count(*) FILTER (WHERE t.status = 'RUNNING') AS "running",
  count(*) FILTER (WHERE t.status = 'PENDING') AS "pending", count(*) FILTER (WHERE t.status = 'FAILED') AS "failed",
  ${BASELINE_ACCURACY('${sweep:sqlstring}')} AS "baseline accuracy"
FROM "Trial" t WHERE t."sweepId" = \${sweep:sqlstring}`,
  /** Every finished trial: the compression scatter's points. */
  points: pointsSql('compression'),
  /** The nondominated finished trials (accuracy up, compression up), by compression: GET /sweeps/:id/pareto's front. */
  front: frontSql('compression'),
  /** The same against the stored model's gzip size (down): GET /sweeps/:id/pareto?objective=gzip-size. */
  sizePoints: pointsSql('gzip-size'),
  sizeFront: frontSql('gzip-size'),
  /** Against the nonzero parameters (down): ?objective=nonzero-params. */
  nonzeroPoints: pointsSql('nonzero-params'),
  nonzeroFront: frontSql('nonzero-params'),
  /** Against the measured inference speedup (up): ?objective=speedup. */
  speedupPoints: pointsSql('speedup'),
  speedupFront: frontSql('speedup'),
  /** Per model x method x amount x fine-tuning setting: mean and sample sd over the seeds done (sd 0 for one seed), and the front of the means: GET /sweeps/:id/summary. */
  summary: `WITH cells AS (
  SELECT t.model, t.method, t.amount, t.finetune AS "fine-tuning",
    count(*) FILTER (WHERE ${DONE}) AS "seeds done", count(*) FILTER (WHERE t.status = 'FAILED') AS "failed",
    count(*) FILTER (WHERE t.status IN ('PENDING', 'RUNNING')) AS "to run",
${[['t.accuracy', 'accuracy'], ['t."accuracyDrop"', 'drop'], ['t."compressionRate"', 'compression'], [PARAMS_REMOVED, 'params removed'], [SPEEDUP, 'speedup'], ['t."gzipBytes"', 'gzip size']]
    .map(([x, name]) => `    avg(${x}) FILTER (WHERE ${DONE}) AS "${name}",
    CASE count(${x}) FILTER (WHERE ${DONE}) WHEN 0 THEN NULL WHEN 1 THEN 0 ELSE stddev_samp(${x}) FILTER (WHERE ${DONE}) END AS "${name} sd"`).join(',\n')}
  FROM "Trial" t WHERE ${IN_SWEEP('t')}
  GROUP BY t.model, t.method, t.amount, t.finetune)
SELECT c.*, (c.accuracy IS NOT NULL AND c.compression IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM cells o WHERE o.accuracy >= c.accuracy AND o.compression >= c.compression AND (o.accuracy > c.accuracy OR o.compression > c.compression))) AS "on front"
FROM cells c ORDER BY c.model COLLATE "C", c.method COLLATE "C", c.amount, c."fine-tuning" COLLATE "C"`,
  trials: `SELECT t.model, t.method, t.amount, t.seed, t.finetune AS "fine-tuning", t.status, t.accuracy, t."accuracyDrop" AS "drop", t."compressionRate" AS "compression",
  ${PARAMS_REMOVED} AS "params removed", ${SPEEDUP} AS "speedup", t."gzipBytes" AS "gzip size", t."durationMs" / 1000.0 AS "duration s",
  t.backend, t.device, t.attempts, split_part(t.error, E'\\n', 1) AS "error", t.id AS "trial id"
FROM "Trial" t WHERE ${IN_SWEEP('t')}
ORDER BY t.model COLLATE "C", t.seed, t.method COLLATE "C", t.amount, t.finetune COLLATE "C", t.id`,
  tagVariable: `SELECT '(any)' UNION ALL (SELECT DISTINCT tag FROM "Sweep" s, unnest(s.tags) AS tag ORDER BY 1)`,
  /** Sweeps created in the time range, newest first. */
  sweeps: `SELECT ${utc('s."createdAt"')} AS "created", s.name, s.id, s.model, s.status,
  count(t.id) FILTER (WHERE ${DONE}) AS "done", s."totalTrials" AS "trials", count(t.id) FILTER (WHERE t.status = 'FAILED') AS "failed",
  ${BASELINE_ACCURACY('s.id')} AS "baseline accuracy",
  max(t.accuracy) FILTER (WHERE ${DONE} AND t."compressionRate" >= ${MIN_COMPRESSION}) AS "best accuracy at min. compression",
  max(t."compressionRate") FILTER (WHERE ${DONE}) AS "most compression"
FROM "Sweep" s LEFT JOIN "Trial" t ON t."sweepId" = s.id
WHERE $__timeFilter(${utc('s."createdAt"')}) AND ${TAGGED}
GROUP BY s.id ORDER BY s."createdAt" DESC, s.id`,
  /** One point per sweep and model (the sweep's creation time): the best accuracy at the chosen compression, and the baseline's. */
  trend: `SELECT ${utc('s."createdAt"')} AS "time", t.model AS "metric",
  max(t.accuracy) FILTER (WHERE ${DONE} AND t."compressionRate" >= ${MIN_COMPRESSION}) AS "best accuracy",
  (SELECT avg(b.accuracy) FROM "SweepBaseline" sb JOIN "Baseline" b ON b.key = sb."baselineKey" WHERE sb."sweepId" = s.id AND sb.model = t.model) AS "baseline"
FROM "Sweep" s JOIN "Trial" t ON t."sweepId" = s.id
WHERE $__timeFilter(${utc('s."createdAt"')}) AND ${TAGGED}
GROUP BY s.id, t.model ORDER BY 1, s.id, t.model`,
  throughput: `SELECT $__timeGroupAlias(${utc('t."finishedAt"')}, 1h), count(*) FILTER (WHERE ${DONE}) AS "done", count(*) FILTER (WHERE t.status = 'FAILED') AS "failed"
FROM "Trial" t JOIN "Sweep" s ON s.id = t."sweepId"
WHERE t."finishedAt" IS NOT NULL AND $__timeFilter(${utc('t."finishedAt"')}) AND ${TAGGED}
GROUP BY 1 ORDER BY 1`,
  backends: `SELECT t.backend, t.device, t.model, count(*) AS "trials",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY t."durationMs") / 1000 AS "median s per trial", avg(t.attempts) AS "mean attempts"
FROM "Trial" t JOIN "Sweep" s ON s.id = t."sweepId"
WHERE ${DONE} AND $__timeFilter(${utc('t."finishedAt"')}) AND ${TAGGED}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  failures: `SELECT ${utc('t."finishedAt"')} AS "failed at", s.name AS "sweep", t.model, t.method, t.amount, t.seed, t.attempts, t.backend,
  split_part(t.error, E'\\n', 1) AS "error", t."sweepId" AS "sweep id"
FROM "Trial" t JOIN "Sweep" s ON s.id = t."sweepId"
WHERE t.status = 'FAILED' AND $__timeFilter(${utc('t."finishedAt"')}) AND ${TAGGED}
ORDER BY t."finishedAt" DESC, t.id LIMIT 100`,
} as const;

const ds: common.DataSourceRef = { ...DATASOURCE };
const grid = (x: number, y: number, w: number, h: number): dashboard.GridPos => ({ x, y, w, h });
/** Field overrides by column name. */
type Override = [string, dashboard.DynamicConfigValue[]];
const unit = (name: string, value: string): Override => [name, [{ id: 'unit', value }]];
const sweepLink = (name: string): Override => [name, [{ id: 'links', value: [{ title: 'open this sweep', url: '/d/lopper-sweep/lopper-sweep?var-sweep=${__value.raw}' }] }]];

function tablePanel(title: string, sql: string, pos: dashboard.GridPos, overrides: Override[] = []) {
  let p = new table.PanelBuilder().title(title).datasource(ds).gridPos(pos).withTarget(new Sql('A', sql));
  for (const [name, props] of overrides) p = p.overrideByName(name, props);
  return p;
}

const PERCENT = ['accuracy', 'drop', 'compression', 'params removed', 'accuracy sd', 'drop sd', 'compression sd', 'params removed sd', 'baseline accuracy',
  'best accuracy at min. compression', 'most compression'].map((n) => unit(n, 'percentunit'));
const BYTES = ['gzip size', 'gzip size sd'].map((n) => unit(n, 'bytes'));
const TIMES = ['speedup', 'speedup sd'].map((n) => unit(n, 'x'));

/** One scatter (every point, the front drawn over them) and one table of the front per objective, stacked: points, front, titles, description, x column and unit. */
const FRONTS: [string, string, string, string, string, string, string][] = [
  [SQL.points, SQL.front, 'Accuracy vs compression: every finished trial, and the Pareto front', 'Pareto front',
    'x: 1 - nonzero / baseline parameters; y: top-1 test accuracy. The front: the trials no other selected trial beats on both (compression is against each trial\'s own model\'s baseline).',
    'compression', 'percentunit'],
  [SQL.sizePoints, SQL.sizeFront, 'Accuracy vs stored size (gzip), and its Pareto front', 'Pareto front by gzip size',
    'x: the stored model\'s gzip size (zeros compress: masks count, channels removed count more); y: top-1 test accuracy. Absolute, so models compare.',
    'gzip size', 'bytes'],
  [SQL.nonzeroPoints, SQL.nonzeroFront, 'Accuracy vs nonzero parameters, and its Pareto front', 'Pareto front by nonzero parameters',
    'x: the parameters left nonzero (masked entries and removed channels both gone); y: top-1 test accuracy. Absolute, so models compare.',
    'nonzero params', 'short'],
  [SQL.speedupPoints, SQL.speedupFront, 'Accuracy vs measured inference speedup, and its Pareto front', 'Pareto front by speedup',
    'x: the baseline\'s median inference latency over the pruned model\'s, both measured by the same worker process (masks alone do not speed up; removed channels do); y: top-1 test accuracy.',
    'speedup', 'x'],
];

export function sweepDashboard(): dashboard.Dashboard {
  const sweep = new dashboard.QueryVariableBuilder('sweep').label('sweep').datasource(ds).query(SQL.sweepVariable).definition(SQL.sweepVariable)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad).sort(dashboard.VariableSort.Disabled);
  const model = new dashboard.QueryVariableBuilder('model').label('models').datasource(ds).query(SQL.modelVariable).definition(SQL.modelVariable)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad).sort(dashboard.VariableSort.AlphabeticalAsc).multi(true).includeAll(true)
    .current({ text: 'All', value: '$__all', selected: true });
  const method = new dashboard.QueryVariableBuilder('method').label('methods').datasource(ds).query(SQL.methodVariable).definition(SQL.methodVariable)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad).sort(dashboard.VariableSort.AlphabeticalAsc).multi(true).includeAll(true)
    .current({ text: 'All', value: '$__all', selected: true });
  const scatter = (title: string, description: string, y: number, x: string, xUnit: string, points: string, front: string) => new xychart.PanelBuilder().title(title)
    .description(description).datasource(ds).gridPos(grid(0, y, 14, 12))
    .withTarget(new Sql('points', points)).withTarget(new Sql('front', front))
    .mapping(xychart.SeriesMapping.Manual)
    .series([
      new xychart.XYSeriesConfigBuilder().name({ fixed: 'trials' }).frame({ matcher: { id: 'byIndex', options: 0 } })
        .x({ matcher: { id: 'byName', options: x } }).y({ matcher: { id: 'byName', options: 'accuracy' } }),
      new xychart.XYSeriesConfigBuilder().name({ fixed: 'Pareto front' }).frame({ matcher: { id: 'byIndex', options: 1 } })
        .x({ matcher: { id: 'byName', options: x } }).y({ matcher: { id: 'byName', options: 'accuracy' } }),
    ])
    .overrideByName('accuracy', [{ id: 'unit', value: 'percentunit' }]).overrideByName(x, [{ id: 'unit', value: xUnit }])
    .overrideByQuery('front', [{ id: 'custom.show', value: xychart.XYShowMode.PointsAndLines }, { id: 'custom.pointSize', value: { fixed: 9 } }])
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true));
  const progress = new stat.PanelBuilder().title('Progress').datasource(ds).gridPos(grid(0, 0, 24, 4)).withTarget(new Sql('A', SQL.progress))
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(false).calcs(['lastNotNull']).fields(''))
    .textMode(common.BigValueTextMode.ValueAndName).graphMode(common.BigValueGraphMode.None).colorMode(common.BigValueColorMode.None)
    .overrideByName('baseline accuracy', [{ id: 'unit', value: 'percentunit' }, { id: 'decimals', value: 2 }]);
  const finetune = new dashboard.QueryVariableBuilder('finetune').label('fine-tuning').datasource(ds).query(SQL.finetuneVariable).definition(SQL.finetuneVariable)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad).sort(dashboard.VariableSort.AlphabeticalAsc).multi(true).includeAll(true)
    .current({ text: 'All', value: '$__all', selected: true });
  const d = new dashboard.DashboardBuilder('Lopper / Sweep').uid('lopper-sweep').tags(['lopper']).editable().timezone('utc')
    .time({ from: 'now-30d', to: 'now' }).refresh('30s')
    .description('One pruning sweep: accuracy against compression, gzip size, nonzero parameters and measured speedup, with each Pareto front; mean ± sd over the seeds; every trial.')
    .withVariable(sweep).withVariable(model).withVariable(method).withVariable(finetune)
    .withPanel(progress);
  for (const [i, [points, front, scatterTitle, tableTitle, description, x, xUnit]] of FRONTS.entries()) {
    d.withPanel(scatter(scatterTitle, description, 4 + 12 * i, x, xUnit, points, front))
      .withPanel(tablePanel(tableTitle, front, grid(14, 4 + 12 * i, 10, 12), [...PERCENT, ...BYTES, ...TIMES]));
  }
  return d
    .withPanel(tablePanel('Per model x method x amount x fine-tuning: mean and sample sd over the seeds done (on front: of the means)', SQL.summary, grid(0, 4 + 12 * FRONTS.length, 24, 10), [...PERCENT, ...BYTES, ...TIMES]))
    .withPanel(tablePanel('Trials', SQL.trials, grid(0, 14 + 12 * FRONTS.length, 24, 12), [...PERCENT, ...BYTES, ...TIMES]))
    .build();
}

export function teamDashboard(): dashboard.Dashboard {
  const tag = new dashboard.QueryVariableBuilder('tag').label('tag').description('schedule:<id> for one schedule\'s runs').datasource(ds)
    .query(SQL.tagVariable).definition(SQL.tagVariable).refresh(dashboard.VariableRefresh.OnDashboardLoad).sort(dashboard.VariableSort.Disabled)
    .current({ text: '(any)', value: '(any)', selected: true });
  const minCompression = new dashboard.CustomVariableBuilder('min_compression').label('min. compression').values('0.5,0.8,0.9,0.95')
    .current({ text: '0.8', value: '0.8', selected: true });
  const trend = new timeseries.PanelBuilder().title('Best accuracy at ≥ ${min_compression} compression, per sweep (nightly runs: pick their tag)')
    .datasource(ds).gridPos(grid(0, 10, 12, 9)).withTarget(new Sql('A', SQL.trend, 'time_series'))
    .unit('percentunit').showPoints(common.VisibilityMode.Always).spanNulls(true);
  const throughput = new timeseries.PanelBuilder().title('Trials finished per hour').datasource(ds).gridPos(grid(12, 10, 12, 9))
    .withTarget(new Sql('A', SQL.throughput, 'time_series')).drawStyle(common.GraphDrawStyle.Bars).fillOpacity(60);
  return new dashboard.DashboardBuilder('Lopper / Team').uid('lopper-team').tags(['lopper']).editable().timezone('utc')
    .time({ from: 'now-7d', to: 'now' }).refresh('1m')
    .description('All sweeps: what each reached, trials per hour, time per trial by backend, recent failures.')
    .withVariable(tag).withVariable(minCompression)
    .withPanel(tablePanel('Sweeps created in the time range', SQL.sweeps, grid(0, 0, 24, 10), [...PERCENT, sweepLink('id')]))
    .withPanel(trend)
    .withPanel(throughput)
    .withPanel(tablePanel('Time per finished trial by backend and model', SQL.backends, grid(0, 19, 12, 8)))
    .withPanel(tablePanel('Recent failures (first line of each error)', SQL.failures, grid(12, 19, 12, 8), [sweepLink('sweep id')]))
    .build();
}

/** The provisioned files, by name. */
export const DASHBOARDS: Record<string, () => dashboard.Dashboard> = { 'lopper-sweep.json': sweepDashboard, 'lopper-team.json': teamDashboard };

/** A dashboard as the file Grafana loads: stable JSON (the SDK's builders leave functions out). */
export const dashboardJson = (d: dashboard.Dashboard) => `${JSON.stringify(d, null, 2)}\n`;
