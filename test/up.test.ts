/**
 * The README's first command, `npm run up`, as a new user runs it: on a data directory of its own (its own Postgres and
 * Temporal dev server, not the suite's), it migrates, starts the API and the supervised workers, runs
 * examples/quick-sweep.json to its Pareto front and keeps the API up; Ctrl-C (SIGINT to its process group, as a terminal
 * sends it) stops everything it started.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LopperApi } from '../apps/cli/src/api-client.js';

/** Pids of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text) ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

describe('npm run up (the README\'s main job, on the embedded defaults)', () => {
  // Debian's postgresql where installed (as here), else PGlite in the `up` process, as for a user with nothing but Node.
  it.each([
    ["Debian's postgresql", {}, /\[services\] postgres: Debian postgresql on 127\.0\.0\.1:\d+/],
    ['embedded PGlite', { LOPPER_EMBEDDED_DB: 'pglite' }, /\[services\] postgres: embedded PGlite on 127\.0\.0\.1:\d+/],
  ])('on %s: runs the example sweep to its Pareto front, serves the API, and stops everything it started on Ctrl-C', async (_db, extra, postgresLine) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lopper-up-'));
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra, LOPPER_DATA_DIR: dataDir };
    // The suite's own services are not the ones `up` should use: it provisions its own, as on a new machine.
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    delete env.PORT;
    const up = spawn('npm', ['run', 'up'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    up.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((res) => up.once('exit', (code) => res(code)));
    try {
      for (const end = Date.now() + 420_000; Date.now() < end && !out.includes('[up] running;') && up.exitCode === null;) await new Promise((r) => setTimeout(r, 500));
      expect(out).toContain('[up] running;');
      expect(out).toMatch(postgresLine);
      expect(out).toMatch(/\[up\] migrations: \d{14}_init, /); // a fresh database, every migration applied
      expect(out).toMatch(/\[workers\] \d+ worker process\(es\) on \w+/);
      expect(out).toMatch(/Pareto front of sw-[\w-]+ \(accuracy up, [^)]+\): \d+ of 12 finished trials/);

      // The API stays up, and holds the example sweep, done.
      const url = out.match(/\[up\] API: (http:\/\/127\.0\.0\.1:\d+)/)![1];
      const api = new LopperApi(url);
      const [sweep] = await api.sweeps();
      expect([sweep.name, sweep.status, sweep.counts.done, sweep.counts.failed]).toEqual(['quick-sweep', 'COMPLETED', 12, 0]);
      expect(processesMentioning(dataDir).length).toBeGreaterThan(0); // its Temporal (and Debian's Postgres)
      const workers = [...out.matchAll(/\[worker \d+\] ready \(\w+ on .*, pid (\d+)\)/g)].map((m) => Number(m[1]));
      expect(workers.length).toBeGreaterThan(0);
      const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

      process.kill(-up.pid!, 'SIGINT'); // Ctrl-C: the terminal signals the whole foreground group
      expect(await exited).toBe(0);
      expect(out).toContain('[up] stopping API, workers and services');
      for (const end = Date.now() + 20_000; Date.now() < end && processesMentioning(dataDir).length;) await new Promise((r) => setTimeout(r, 250));
      expect(processesMentioning(dataDir)).toEqual([]); // Postgres and Temporal stopped too
      expect(workers.filter(alive)).toEqual([]);
      await expect(api.sweeps()).rejects.toThrow();
    } finally {
      if (up.exitCode === null) {
        try { process.kill(-up.pid!, 'SIGKILL'); } catch { /* gone */ }
      }
      for (const pid of processesMentioning(dataDir)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 600_000);
});
