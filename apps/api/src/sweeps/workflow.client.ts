/** The API's door to Temporal: sweep workflows here, schedules through it (schedules/schedule.client.ts). */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Client, Connection, defaultPayloadConverter, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ComputeHeartbeat } from '../../../../workflows/src/activity-types.js';
import { WORKFLOW_TASK_QUEUE } from '../../../../workflows/src/constants.js';
import type { SweepSpec } from '../../../../workflows/src/spec.js';
import type { SweepWorkflow } from '../../../../workflows/src/sweep.workflow.js';
import { API_CONFIG, type ApiConfig } from '../config.js';
import { Conflict } from '../errors.js';

@Injectable()
export class SweepWorkflowClient implements OnModuleDestroy {
  private client?: Promise<{ client: Client; connection: Connection }>;

  constructor(@Inject(API_CONFIG) private readonly cfg: ApiConfig) {}

  /** The one Temporal connection of the API process, opened on first use. */
  get(): Promise<{ client: Client; connection: Connection }> {
    this.client ??= Connection.connect({ address: this.cfg.temporalAddress }).then((connection) => ({
      connection,
      client: new Client({ connection, namespace: this.cfg.namespace }),
    }));
    return this.client;
  }

  /**
   * Starts SweepWorkflow under the sweep's id. Again after an earlier run ended (resume): the run skips DONE trials.
   * Throws Conflict while a run of that id is still open (a cancellation still winding down, say).
   */
  async start(sweepId: string, spec: SweepSpec): Promise<void> {
    const { client } = await this.get();
    try {
      await client.workflow.start<typeof SweepWorkflow>('SweepWorkflow', {
        taskQueue: WORKFLOW_TASK_QUEUE,
        workflowId: sweepId,
        args: [{ sweepId, spec }],
      });
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) throw new Conflict(`sweep ${sweepId}'s workflow is still running (a cancelled sweep's ends once the trials in flight have stopped, within seconds); try again when it has ended`);
      throw e;
    }
  }

  /** Requests cancellation; false when the workflow does not exist or already ended. */
  async cancel(sweepId: string): Promise<boolean> {
    const { client } = await this.get();
    try {
      const handle = client.workflow.getHandle(sweepId);
      const desc = await handle.describe();
      if (desc.status.name !== 'RUNNING') return false;
      await handle.cancel();
      return true;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    }
  }

  /** Whether a run of the sweep's workflow is still open (a cancelled one stays open until its compute has stopped). */
  async isOpen(sweepId: string): Promise<boolean> {
    const { client } = await this.get();
    try {
      return (await client.workflow.getHandle(sweepId).describe()).status.name === 'RUNNING';
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    }
  }

  /**
   * The sweep workflow's activities in flight (none when it is not running): each one's last heartbeat (what it computes
   * and how far it got), its attempt, and when it last heartbeat.
   */
  async pendingActivities(sweepId: string): Promise<PendingActivity[]> {
    const { client } = await this.get();
    try {
      const desc = await client.workflow.getHandle(sweepId).describe();
      if (desc.status.name !== 'RUNNING') return [];
      return (desc.raw.pendingActivities ?? []).map((a) => {
        const payload = a.heartbeatDetails?.payloads?.[0];
        return {
          activity: a.activityType?.name ?? 'unknown',
          attempt: a.attempt ?? 1,
          scheduled: a.state === 1, // PENDING_ACTIVITY_STATE_SCHEDULED: no worker has it yet
          lastHeartbeatAt: isoTime(a.lastHeartbeatTime),
          startedAt: isoTime(a.lastStartedTime),
          worker: a.lastWorkerIdentity || null,
          lastFailure: a.lastFailure?.message || null,
          details: payload ? defaultPayloadConverter.fromPayload<ComputeHeartbeat>(payload) : null,
        };
      });
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return [];
      throw e;
    }
  }

  /** The workers that polled `taskQueue` for activities lately (Temporal forgets a poller 5 minutes after its last poll). */
  async activityPollers(taskQueue: string): Promise<string[]> {
    const { client } = await this.get();
    const r = await client.workflowService.describeTaskQueue({
      namespace: this.cfg.namespace, taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ }, taskQueueType: 2 /* ACTIVITY */,
    });
    return (r.pollers ?? []).map((p) => p.identity || 'unknown');
  }

  async onModuleDestroy(): Promise<void> {
    if (this.client) await (await this.client).connection.close();
  }
}

/** One activity of a sweep workflow in flight, as Temporal reports it. */
export interface PendingActivity {
  activity: string;
  attempt: number;
  /** Waiting for a worker (none has picked it up, or it waits to be retried). */
  scheduled: boolean;
  lastHeartbeatAt: string | null;
  startedAt: string | null;
  worker: string | null;
  lastFailure: string | null;
  /** A compute activity's last heartbeat (null for bookkeeping steps, and before the first). */
  details: ComputeHeartbeat | null;
}

type ProtoTime = { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null | undefined;
const isoTime = (t: ProtoTime): string | null => {
  if (!t || t.seconds === null || t.seconds === undefined) return null;
  const seconds = typeof t.seconds === 'number' ? t.seconds : t.seconds.toNumber();
  return seconds > 0 ? new Date(seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : null;
};
