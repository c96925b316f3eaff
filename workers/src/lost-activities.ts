/**
 * Activities lost with a worker process that died (SIGKILL, out of memory, a crash in native code): a supervised worker
 * process tells its supervisor which activities it runs (`trackActivities`, an activity interceptor), and when it dies
 * the supervisor fails them at once (`failLostActivities`), so that Temporal retries them now rather than after the
 * heartbeat timeout, with an error that says what happened. Such a failure spends a retry attempt (the work itself may
 * have killed the process), unless the process died of being stopped (a second signal while it let its work finish):
 * that work is handed back, as a stopping worker hands back its own.
 */
import type { AsyncCompletionClient } from '@temporalio/client';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { WORKER_PROCESS_DIED, WORKER_SHUTDOWN } from '../../workflows/src/constants.js';

/**
 * The failure of work a stopping worker hands back (WORKER_SHUTDOWN): non-retryable, so that the workflow, not the retry
 * policy, schedules it again as a fresh attempt; BENIGN, so that the SDK logs it at DEBUG and leaves it out of its
 * failure metrics.
 */
export function handBackFailure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: WORKER_SHUTDOWN, nonRetryable: true, category: ApplicationFailureCategory.BENIGN, message });
}

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
 * Fails each lost activity, by its task token: with a retryable WORKER_PROCESS_DIED failure whose message is `why` and
 * the attempt; or, with `handBack` (the process died because it was being stopped: an impatient second Ctrl-C), hands it
 * back as a stopping worker does, `why` and "the work was handed back", spending no attempt. One that already ended (its
 * end message lost with the process) or timed out is left as it is. Returns one line per activity, what was done.
 */
export async function failLostActivities(completion: Pick<AsyncCompletionClient, 'fail'>, lost: LostActivity[], why: string, handBack = false): Promise<string[]> {
  return Promise.all(
    lost.map(async (a) => {
      const what = `${a.activityType} of ${a.workflowId} (attempt ${a.attempt})`;
      const failure = handBack
        ? handBackFailure(`${why}; the work was handed back`)
        : ApplicationFailure.create({ type: WORKER_PROCESS_DIED, message: `${why} (attempt ${a.attempt})` });
      try {
        await completion.fail(Buffer.from(a.token, 'base64'), failure);
        return `${what}: ${handBack ? 'handed back' : 'failed, to be retried now'}`;
      } catch (e) {
        return `${what}: left to Temporal (${e instanceof Error ? e.message : String(e)})`;
      }
    }),
  );
}
