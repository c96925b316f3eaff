import { workerConfigFromEnv } from './config.js';

const base = { DATABASE_URL: 'postgresql://u@h/db', TEMPORAL_ADDRESS: 'localhost:7233' };

describe('workerConfigFromEnv', () => {
  it('takes the defaults: workflows on, one activity at a time, the WASM kernels\' build chosen automatically', () => {
    expect(workerConfigFromEnv(base)).toEqual({
      databaseUrl: base.DATABASE_URL, temporalAddress: base.TEMPORAL_ADDRESS, namespace: 'default', backend: undefined, wasmFma: 'auto',
      artifacts: undefined, runWorkflows: true, gpu: undefined, maxConcurrentActivities: 1, processes: 'auto', shutdownGraceSeconds: 0,
    });
  });

  it('reads every setting', () => {
    const cfg = workerConfigFromEnv({ ...base, TEMPORAL_NAMESPACE: 'ns', LOPPER_BACKEND: 'wasm', LOPPER_WASM_FMA: 'off', LOPPER_ARTIFACTS: 'dir:/tmp/a', LOPPER_RUN_WORKFLOWS: '0', LOPPER_GPU: '1', LOPPER_WORKER_CONCURRENCY: '3', LOPPER_SHUTDOWN_GRACE: '300', LOPPER_WORKER_PROCESSES: '4' });
    expect(cfg).toMatchObject({ namespace: 'ns', backend: 'wasm', wasmFma: 'off', artifacts: 'dir:/tmp/a', runWorkflows: false, gpu: true, maxConcurrentActivities: 3, processes: 4, shutdownGraceSeconds: 300 });
  });

  it('names what is missing or wrong', () => {
    expect(() => workerConfigFromEnv({})).toThrow('worker: missing environment variable(s): DATABASE_URL, TEMPORAL_ADDRESS');
    expect(() => workerConfigFromEnv({ ...base, LOPPER_WORKER_CONCURRENCY: '0' })).toThrow(/LOPPER_WORKER_CONCURRENCY must be a positive integer, got "0"/);
    expect(() => workerConfigFromEnv({ ...base, LOPPER_WORKER_PROCESSES: '0' })).toThrow('LOPPER_WORKER_PROCESSES must be auto or a positive integer, got "0"');
    expect(() => workerConfigFromEnv({ ...base, LOPPER_WORKER_PROCESSES: '2.5' })).toThrow('LOPPER_WORKER_PROCESSES must be auto or a positive integer, got "2.5"');
    expect(() => workerConfigFromEnv({ ...base, LOPPER_SHUTDOWN_GRACE: '-1' })).toThrow('LOPPER_SHUTDOWN_GRACE must be a number of seconds >= 0, got "-1"');
    expect(() => workerConfigFromEnv({ ...base, LOPPER_SHUTDOWN_GRACE: '5m' })).toThrow('LOPPER_SHUTDOWN_GRACE must be a number of seconds >= 0, got "5m"');
    expect(() => workerConfigFromEnv({ ...base, LOPPER_WASM_FMA: 'yes' })).toThrow('LOPPER_WASM_FMA must be one of auto, on, off, got "yes"');
  });
});
