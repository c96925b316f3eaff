/**
 * Activities lost with a worker process that died (SIGKILL, out of memory, a crash in native code): a supervised worker
 * process tells its supervisor which activities it runs (`trackActivities`, an activity interceptor), and when it dies
 * the supervisor fails them at once (`failLostActivities`), so that Temporal retries them now rather than after the
 * heartbeat timeout, with an error that says what happened. Such a failure spends a retry attempt (the work itself may
 * have killed the process); a stop by signal, which the process survives long enough to hand its work back, does not.
 */
import type { AsyncCompletionClient } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { WORKER_PROCESS_DIED } from '../../workflows/src/constants.js';

/** What a supervised worker process sends as an activity starts on it. */
export interface ActivityStartMessage { type: 'activity-start'; token: string; activityType: string; workflowId: string; attempt: number }
/** ... and as it ends (completed, failed or handed back). */
export interface ActivityEndMessage { type: 'activity-end'; token: string }
export type ActivityMessage = ActivityStartMessage | ActivityEndMessage;

/** An activity its worker process was running when the process died: its base64 task token and what it was. */
export type LostActivity = Omit<ActivityStartMessage, 'type'>;

/** An activity interceptor that sends `send` a message as each activity starts and as it ends. */
export function trackActivities(send: (m: ActivityMessage) => void): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const { base64TaskToken: token, activityType, attempt, workflowExecution } = ctx.info;
        send({ type: 'activity-start', token, activityType, workflowId: workflowExecution?.workflowId ?? '', attempt });
        try {
          return await next(input);
        } finally {
          send({ type: 'activity-end', token });
        }
      },
    },
  });
}

/**
 * Fails each lost activity, by its task token, with a retryable WORKER_PROCESS_DIED failure whose message is `why` and the
 * attempt. One that already ended (its end message lost with the process) or timed out is left as it is. Returns one line
 * per activity, what was done.
 */
export async function failLostActivities(completion: Pick<AsyncCompletionClient, 'fail'>, lost: LostActivity[], why: string): Promise<string[]> {
  return Promise.all(
    lost.map(async (a) => {
      const what = `${a.activityType} of ${a.workflowId} (attempt ${a.attempt})`;
      try {
        await completion.fail(Buffer.from(a.token, 'base64'), ApplicationFailure.create({ type: WORKER_PROCESS_DIED, message: `${why} (attempt ${a.attempt})` }));
        return `${what}: failed, to be retried now`;
      } catch (e) {
        return `${what}: left to Temporal (${e instanceof Error ? e.message : String(e)})`;
      }
    }),
  );
}
