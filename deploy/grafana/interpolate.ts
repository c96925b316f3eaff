/**
 * What Grafana does to a Postgres panel's SQL before it runs it, for the syntax Lopper's dashboards use and nothing
 * else: `${name:sqlstring}` (each value quoted, quotes doubled, comma-separated), `$__timeFilter(expr)` and
 * `$__timeGroupAlias(expr, interval)`. Anything else left in the SQL is an error, so a dashboard cannot start using
 * syntax the tests (test/grafana.test.ts, which runs every query) do not check.
 */
export interface GrafanaContext {
  /** Each variable's selected values ("All": every option). */
  vars: Record<string, string[]>;
  from: Date;
  to: Date;
}

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function intervalSeconds(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim().replace(/^'|'$/g, ''));
  if (!m) throw new Error(`unsupported $__timeGroup interval: ${text}`);
  return Number(m[1]) * SECONDS[m[2]];
}

export function interpolate(sql: string, ctx: GrafanaContext): string {
  const out = sql
    .replace(/\$\{(\w+):sqlstring\}/g, (_, name: string) => {
      const values = ctx.vars[name];
      if (!values?.length) throw new Error(`no value for the variable ${name}`);
      return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
    })
    .replace(/\$__timeFilter\(([^)]*)\)/g, (_, col: string) => `${col.trim()} BETWEEN '${ctx.from.toISOString()}' AND '${ctx.to.toISOString()}'`)
    .replace(/\$__timeGroupAlias\(([^,)]*),([^)]*)\)/g, (_, col: string, interval: string) => {
      const s = intervalSeconds(interval);
      return `floor(extract(epoch from ${col.trim()})/${s})*${s} AS "time"`;
    });
  const left = /\$(\{[^}]*\}|__\w+|\w+)/.exec(out);
  if (left) throw new Error(`unsupported Grafana syntax in a dashboard query: ${left[0]}`);
  return out;
}
