import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { WORKER_SHUTDOWN } from './constants.js';
import { describeFailure, isHandBack, MAX_HAND_BACKS } from './failures.js';

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

describe('hand-backs', () => {
  const handBack = () => activity(ApplicationFailure.create({ type: WORKER_SHUTDOWN, nonRetryable: true, message: 'the worker on h (pid 7) stopped during phase "finetune"; the work was handed back' }));

  it('are the compute failures of type WORKER_SHUTDOWN, and nothing else', () => {
    expect(isHandBack(handBack())).toBe(true);
    expect(isHandBack(activity(ApplicationFailure.nonRetryable('bad', 'InvalidConfig')))).toBe(false);
    expect(isHandBack(activity(new TimeoutFailure(undefined, undefined, 'HEARTBEAT')))).toBe(false);
    expect(isHandBack(ApplicationFailure.create({ type: WORKER_SHUTDOWN }))).toBe(false); // not an activity's failure
  });

  it('read, once they have run out, as the stop and how often it came', () => {
    expect(describeFailure(handBack())).toBe(`the worker on h (pid 7) stopped during phase "finetune"; the work was handed back; stopping workers handed this work back ${MAX_HAND_BACKS + 1} times, so it counts as failed (workers restarted in a loop?)`);
  });
});
