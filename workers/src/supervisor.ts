/**
 * Several worker processes on one machine (WASM, cpu and tfjs-node run one thread per process): `npm run worker` forks
 * them, all polling the same task queue, and keeps them running. Which backend the first one picks decides how many.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import type { ActivityMessage, LostActivity } from './lost-activities.js';

/** Backends that compute on a GPU: one process drives it (more would only share it). */
export const GPU_BACKENDS: readonly string[] = ['cuda', 'webgpu'];

/** LOPPER_WORKER_PROCESSES: a count, or 'auto'. */
export type ProcessCount = number | 'auto';

/** The message a supervised worker process sends once its workers poll. */
export interface ReadyMessage { type: 'ready'; backend: string; device: string }

/** How many worker processes: the count asked for; with 'auto', one per core on a CPU backend and one on a GPU backend. */
export function workerProcesses(requested: ProcessCount, cores: number, backend: string): number {
  if (requested !== 'auto') return requested;
  return GPU_BACKENDS.includes(backend) ? 1 : Math.max(1, cores);
}

/** Milliseconds before restarting a worker process that died, after `failures` deaths in a row: 1, 2, 4, … up to 30 s. */
export function restartDelayMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, failures));
}

/** A process that ran this long before it died starts its count of deaths in a row again. */
const STABLE_MS = 60_000;

/**
 * Signals this soon after the first are the same stop, sent twice (a terminal's Ctrl-C reaches this process's whole group,
 * and `npm run up` sends SIGTERM as well): passed on once. A later one stops the processes at once.
 */
export const REPEAT_SIGNAL_MS = 1000;

export interface SupervisorOptions {
  requested: ProcessCount;
  cores: number;
  /** The worker entry point (this file's caller: workers/src/main.ts). */
  script: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** For tests: the restart delay after `failures` deaths in a row (default restartDelayMs). */
  delayMs?: (failures: number) => number;
  /** Where SIGTERM and SIGINT come from (default: this process). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /**
   * Fails the activities a worker process was running when it died (`why` says how it died), so that Temporal retries
   * them now, not after their heartbeat timeout, or hands them back (`handBack`: it died while being stopped) (main.ts:
   * `failLostActivities`); one line per activity back, for the log.
   */
  reportLost?: (lost: LostActivity[], why: string, handBack: boolean) => Promise<string[]>;
}

interface Child { index: number; proc: ChildProcess; ready: boolean; startedAt: number; failures: number; running: Map<string, LostActivity> }

/** Resolves once the process's IPC channel has closed (every message it sent read), or after `ms` if it stays open. */
function channelClosed(proc: ChildProcess, ms = 2000): Promise<void> {
  if (!proc.connected) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(res, ms);
    proc.once('disconnect', () => {
      clearTimeout(t);
      res();
    });
  });
}

/**
 * Starts worker process 1; once it is ready, on the backend it picked, the rest (`workerProcesses`), each with that
 * backend set, so that all agree. A process that dies is started again after `restartDelayMs`; one that fails before any
 * process was ever ready (bad configuration, no database, no Temporal) stops everything, with its exit code. SIGTERM or
 * SIGINT goes to every process once: they stop as a lone worker does (running work handed back, or finished within
 * LOPPER_SHUTDOWN_GRACE); a second signal, REPEAT_SIGNAL_MS or more after the first, goes on to them and stops them at once. The processes run in their own
 * process group, so a terminal's Ctrl-C reaches them once, through here, and each stops by itself if this process dies
 * (its IPC channel closes). Each process tells this one which activities it runs; when one dies under running activities
 * (SIGKILL, out of memory, a crash), `reportLost` fails them at once. Resolves with the exit code once all have exited and
 * those reports are done.
 */
export function superviseWorkers(opts: SupervisorOptions): Promise<number> {
  const { requested, cores, script, env, log } = opts;
  const delay = opts.delayMs ?? restartDelayMs;
  const children = new Map<number, Child>();
  let backend: string | undefined;
  let everReady = false;
  let stopping = false;
  let exitCode = 0;
  const restarts = new Set<NodeJS.Timeout>();
  /** Reports of lost activities under way: the supervisor finishes after them. */
  const reports = new Set<Promise<void>>();
  let done!: (code: number) => void;
  const finished = new Promise<number>((res) => { done = (code) => void Promise.allSettled([...reports]).then(() => res(code)); });

  const start = (index: number, failures: number) => {
    const proc = fork(script, [], {
      env: { ...env, LOPPER_WORKER_INDEX: String(index), ...(backend ? { LOPPER_BACKEND: backend } : {}) },
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child: Child = { index, proc, ready: false, startedAt: Date.now(), failures, running: new Map() };
    children.set(index, child);
    proc.on('message', (m: Partial<ReadyMessage> | ActivityMessage) => {
      if (m?.type === 'activity-start') {
        const { type: _, ...a } = m;
        child.running.set(m.token, a);
        return;
      }
      if (m?.type === 'activity-end') {
        child.running.delete(m.token);
        return;
      }
      if (m?.type !== 'ready') return;
      child.ready = true;
      if (!everReady) {
        everReady = true;
        backend = m.backend!;
        const target = workerProcesses(requested, cores, backend);
        const why = requested === 'auto' ? (GPU_BACKENDS.includes(backend) ? 'one per GPU backend' : `one per core of ${cores}`) : 'LOPPER_WORKER_PROCESSES';
        log(`[workers] ${target} worker process(es) on ${backend} (${why})`);
        for (let i = 2; i <= target && !stopping; i++) start(i, 0);
      }
    });
    proc.on('exit', (code, signal) => {
      children.delete(index);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (opts.reportLost) {
        const reportLost = opts.reportLost;
        // While stopping, the stop killed it (a second signal before it finished its work): its work goes back, as a
        // stopping worker's does; otherwise the work may have killed it, and the retry counts.
        const handBack = stopping;
        const why = `worker process ${index} (pid ${proc.pid}) on ${hostname()} exited with ${how} while running this activity${handBack ? ', being stopped' : ''}`;
        // 'exit' can come before the last messages the process sent are read: report once its channel has closed.
        const report = channelClosed(proc).then(async () => {
          const lost = [...child.running.values()];
          if (!lost.length) return;
          await reportLost(lost, why, handBack).then(
            (lines) => lines.forEach((l) => log(`[workers] worker process ${index}'s ${l}`)),
            (e: unknown) => log(`[workers] could not report worker process ${index}'s ${lost.length} activity(ies): ${e instanceof Error ? e.message : String(e)}`),
          );
        });
        reports.add(report);
        void report.finally(() => reports.delete(report));
      }
      if (stopping) {
        if (code) exitCode = exitCode || code;
        if (!children.size) done(exitCode);
        return;
      }
      if (!everReady) {
        log(`[workers] worker process ${index} exited with ${how} before it was ready: stopping`);
        stop(code || 1, 'SIGTERM');
        return;
      }
      const inARow = Date.now() - child.startedAt >= STABLE_MS ? 0 : failures + 1;
      const ms = delay(inARow);
      log(`[workers] worker process ${index} (pid ${proc.pid}) exited with ${how}; starting it again in ${ms / 1000} s`);
      const t = setTimeout(() => {
        restarts.delete(t);
        if (!stopping) start(index, inARow);
      }, ms);
      restarts.add(t);
    });
  };

  let stoppedAt = 0;
  const stop = (code: number, signal: NodeJS.Signals) => {
    if (stopping) {
      if (Date.now() - stoppedAt < REPEAT_SIGNAL_MS) return;
    } else {
      stopping = true;
      stoppedAt = Date.now();
      exitCode = code;
      restarts.forEach(clearTimeout);
      restarts.clear();
    }
    for (const c of children.values()) c.proc.kill(signal);
    if (!children.size) done(exitCode);
  };
  const signals = opts.signals ?? process;
  const onSignal = (signal: NodeJS.Signals) => stop(0, signal);
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  start(1, 0);
  return finished.finally(() => {
    signals.off('SIGTERM', onSignal);
    signals.off('SIGINT', onSignal);
  });
}
