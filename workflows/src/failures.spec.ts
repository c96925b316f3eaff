import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { describeFailure } from './failures.js';

const activity = (cause: Error) => new ActivityFailure('activity failed', 'runTrial', '3', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker@host', cause);

describe('describeFailure', () => {
  it("says what a worker last reported when its heartbeats stopped, and why that happens", () => {
    const training = activity(new TimeoutFailure('activity Heartbeat timeout', { phase: 'finetune', epoch: 1, batch: 14, batches: 40, loss: 0.4 }, 'HEARTBEAT'));
    expect(describeFailure(training)).toBe('no heartbeat for 1 minute; last heard in phase "finetune" (epoch 2, batch 14 of 40 done): the worker process died, or one unit of work (a training batch) ran longer than that on its backend (a smaller batchSize or a faster backend, wasm, tensorflow or cuda, shortens it)');
    expect(describeFailure(activity(new TimeoutFailure(undefined, { phase: 'measure' }, 'HEARTBEAT')))).toMatch(/^no heartbeat for 1 minute; last heard in phase "measure": the worker/);
    expect(describeFailure(activity(new TimeoutFailure(undefined, undefined, 'HEARTBEAT')))).toMatch(/^no heartbeat for 1 minute; never heard from: /);
  });

  it('passes other causes through', () => {
    expect(describeFailure(activity(new TimeoutFailure('activity StartToClose timeout', undefined, 'START_TO_CLOSE')))).toBe('START_TO_CLOSE timeout: activity StartToClose timeout');
    expect(describeFailure(activity(ApplicationFailure.nonRetryable('gradual: end must be > begin', 'InvalidConfig')))).toBe('gradual: end must be > begin');
    expect(describeFailure(new Error('boom'))).toBe('boom');
    expect(describeFailure('text')).toBe('text');
  });
});
