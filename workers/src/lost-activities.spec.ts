import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { WORKER_PROCESS_DIED, WORKER_SHUTDOWN } from '../../workflows/src/constants.js';
import { failLostActivities, trackActivities, type ActivityMessage } from './lost-activities.js';

describe('trackActivities', () => {
  const ctx = { info: { base64TaskToken: 'dG9rZW4=', activityType: 'runTrial', attempt: 2, workflowExecution: { workflowId: 'sw-1', runId: 'r' } } };
  const execute = (factory: ActivityInterceptorsFactory, next: () => Promise<unknown>) =>
    factory(ctx as never).inbound!.execute!({ args: [], headers: {} }, next as never);

  it('says when an activity starts and when it ends, whether it returned or threw', async () => {
    const sent: ActivityMessage[] = [];
    const factory = trackActivities((m) => sent.push(m));
    let during: ActivityMessage[] = [];
    expect(await execute(factory, async () => { during = [...sent]; return 42; })).toBe(42);
    expect(during).toEqual([{ type: 'activity-start', token: 'dG9rZW4=', activityType: 'runTrial', workflowId: 'sw-1', attempt: 2 }]);
    await expect(execute(factory, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(sent.map((m) => m.type)).toEqual(['activity-start', 'activity-end', 'activity-start', 'activity-end']);
    expect(sent[1]).toEqual({ type: 'activity-end', token: 'dG9rZW4=' });
  });
});

describe('failLostActivities', () => {
  it('fails each by its task token with a retryable WorkerProcessDied failure; one Temporal refuses is left to it', async () => {
    const calls: { token: string; err: ApplicationFailure }[] = [];
    const completion = {
      fail: async (token: Uint8Array, err: unknown) => {
        calls.push({ token: Buffer.from(token).toString('utf8'), err: err as ApplicationFailure });
        if (Buffer.from(token).toString('utf8') === 'done') throw new Error('activity not found');
      },
    };
    const lines = await failLostActivities(completion as never, [
      { token: Buffer.from('tok-1').toString('base64'), activityType: 'trainBaseline', workflowId: 'sw-1', attempt: 1 },
      { token: Buffer.from('done').toString('base64'), activityType: 'runTrial', workflowId: 'sw-2', attempt: 3 },
    ], 'worker process 2 (pid 7) on h exited with signal SIGKILL while running this activity');
    expect(calls.map((c) => c.token)).toEqual(['tok-1', 'done']);
    expect(calls[0].err).toBeInstanceOf(ApplicationFailure);
    expect([calls[0].err.type, calls[0].err.nonRetryable, calls[0].err.message]).toEqual([WORKER_PROCESS_DIED, false, 'worker process 2 (pid 7) on h exited with signal SIGKILL while running this activity (attempt 1)']);
    expect(lines).toEqual(['trainBaseline of sw-1 (attempt 1): failed, to be retried now', 'runTrial of sw-2 (attempt 3): left to Temporal (activity not found)']);
  });

  it('hands the work back instead when the process died of being stopped: WorkerShutdown, non-retryable, benign', async () => {
    const failures: ApplicationFailure[] = [];
    const lines = await failLostActivities({ fail: async (_t: Uint8Array, err: unknown) => void failures.push(err as ApplicationFailure) } as never,
      [{ token: 'dG9r', activityType: 'runTrial', workflowId: 'sw-1', attempt: 2 }], 'worker process 1 (pid 7) on h exited with signal SIGTERM while running this activity, being stopped', true);
    expect(failures.map((f) => [f.type, f.nonRetryable, f.category, f.message])).toEqual([[WORKER_SHUTDOWN, true, ApplicationFailureCategory.BENIGN, 'worker process 1 (pid 7) on h exited with signal SIGTERM while running this activity, being stopped; the work was handed back']]);
    expect(lines).toEqual(['runTrial of sw-1 (attempt 2): handed back']);
  });
});
