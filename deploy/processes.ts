/** Starts the real API and worker processes (as `npm run up` does) and waits for them to say they are ready: for end-to-end tests and benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Proc { child: ChildProcess; output: () => string; stop: () => Promise<void> }

/** Resolves once the output has matched `ready` `times` times (several worker processes: one ready line each), with the first match. */
export function startProcess(script: string, env: Record<string, string>, ready: RegExp, timeoutMs = 120_000, times = 1): Promise<Proc & { match: RegExpMatchArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const proc: Proc = {
    child,
    output: () => out,
    stop: () => new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) return res();
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => { clearTimeout(t); res(); });
      child.kill('SIGTERM');
    }),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      const m = out.match(ready);
      if (m && (times === 1 || (out.match(new RegExp(ready.source, 'g')) ?? []).length >= times)) { clearTimeout(timer); resolve({ ...proc, match: m }); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}:\n${out}`)); });
  });
}
