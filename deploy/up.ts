/**
 * `npm run up`: provision Temporal and Postgres with the defaults, migrate, start API and worker(s),
 * submit examples/quick-sweep.json, show progress, print the Pareto table, keep the API running.
 * Ctrl-C stops everything this started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LopperApi } from '../apps/cli/src/api-client.js';
import * as cli from '../apps/cli/src/commands.js';
import { applyMigrations } from '../prisma/src/engine.js';
import { freePort, startServices } from './services.js';
import { REPEAT_SIGNAL_MS } from '../workers/src/supervisor.js';

const dataDir = process.env.LOPPER_DATA_DIR ?? '.data';
const children: ChildProcess[] = [];
let stopping = false;
let stoppingSince = 0;

// Services apart from the terminal's Ctrl-C: stopped last, once the workers have handed their work back to Temporal
// (and, being apart, stopped here even when Ctrl-C comes while they start).
const starting = startServices({ dataDir, ownProcessGroup: true });
async function stopAll(code: number): Promise<void> {
  if (stopping) {
    // Ctrl-C reaches this process more than once at a time (from the terminal, and again through npm and tsx): one stop.
    // A signal a second or more later is an impatient second Ctrl-C: leave at once.
    if (Date.now() - stoppingSince >= REPEAT_SIGNAL_MS) process.exit(code);
    return;
  }
  stopping = true;
  stoppingSince = Date.now();
  console.log('\n[up] stopping API, workers and services…');
  await Promise.all(children.map((c) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))))));
  await starting.then((s) => s.stop(), () => {});
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
const services = await starting;
if (stopping) await new Promise(() => {}); // Ctrl-C while the services started: stopAll stops them and exits; start nothing more

try {
  const applied = await applyMigrations(services.databaseUrl);
  console.log(`[up] migrations: ${applied.length ? applied.join(', ') : 'up to date'}`);
  const port = process.env.PORT ? Number(process.env.PORT) : await freePort();
  const env = { ...process.env, DATABASE_URL: services.databaseUrl, TEMPORAL_ADDRESS: services.temporalAddress, PORT: String(port) };
  let onWorkerReady = () => {};
  const workerReady = new Promise<void>((res) => { onWorkerReady = res; });
  const start = (name: string, script: string, extra: Record<string, string> = {}) => {
    const c = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Each line once under the name of what printed it: the API's, the supervisor's ([workers]) and each worker process's ([worker N]) as they are.
    const prefix = (d: Buffer) => d.toString().split('\n').filter((l) => l && !/\[INFO\]|^\s|^}|sdkComponent/.test(l)).map((l) => (/^\[(workers?( \d+)?|api)\] /.test(l) ? l : `[${name}] ${l}`)).join('\n');
    c.stdout!.on('data', (d: Buffer) => { const s = prefix(d); if (s) console.log(s); if (/^\[worker( \d+)?\] ready/m.test(s)) onWorkerReady(); });
    c.stderr!.on('data', (d: Buffer) => { const s = prefix(d); if (s) console.error(s); });
    c.on('exit', (code) => { if (!stopping) { console.error(`[up] ${name} exited with code ${code}`); void stopAll(1); } });
    children.push(c);
  };
  // `npm run worker` as on any machine: one worker process per core (WASM runs one thread per process), supervised.
  start('workers', 'workers/src/main.ts');
  start('api', 'apps/api/src/main.ts');

  const api = new LopperApi(`http://127.0.0.1:${port}`);
  for (let i = 0; ; i++) {
    try { await api.sweeps(); break; } catch (e) { if (i > 300) throw e; await new Promise((r) => setTimeout(r, 200)); }
  }
  // A worker polls before the sweep goes in (the rest of the processes join as they start).
  await workerReady;
  const example = process.env.LOPPER_EXAMPLE ?? 'examples/quick-sweep.json';
  const id = await cli.submit(api, example, console.log);
  await cli.status(api, id, { follow: true });
  await cli.pareto(api, id, console.log);
  console.log(`\n[up] API: ${api.baseUrl} (OpenAPI: ${api.baseUrl}/docs)${services.temporalUi ? `  Temporal UI: ${services.temporalUi}` : ''}`);
  console.log(`[up] try: LOPPER_API_URL=${api.baseUrl} npx lopper pareto ${id}`);
  console.log('[up] running; Ctrl-C stops everything started here.');
} catch (e) {
  // Once stopping, the progress display losing the API is expected.
  if (!stopping) console.error(`[up] ${(e as Error).message}`);
  await stopAll(1);
}
