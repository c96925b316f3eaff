/** The API's door to Temporal: sweep workflows here, schedules through it (schedules/schedule.client.ts). */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
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
      if (e instanceof WorkflowExecutionAlreadyStartedError) throw new Conflict(`sweep ${sweepId}'s workflow is still running; try again when it has ended`);
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

  async onModuleDestroy(): Promise<void> {
    if (this.client) await (await this.client).connection.close();
  }
}
