/**
 * ScheduledSweepWorkflow: what a schedule (POST /schedules) starts at each run time. It writes a new sweep's rows with
 * a fresh id (the same id on replay), tagged with the schedule, then runs SweepWorkflow on it as a child under that
 * id, so the sweep is read, cancelled and resumed like one posted to /sweeps. Deterministic code only.
 */
import { executeChild, uuid4 } from '@temporalio/workflow';
import { scheduleTag, type SweepSpec } from './spec.js';
import { bookkeepingActivities, SweepWorkflow, type SweepWorkflowResult } from './sweep.workflow.js';

export interface ScheduledSweepInput {
  scheduleId: string;
  /** The sweep every run starts: validated by the API when the schedule was created. */
  spec: SweepSpec;
  /** Activity task queue for the sweep (tests); default by capability, as SweepWorkflow's. */
  activityTaskQueue?: string;
}

export async function ScheduledSweepWorkflow(input: ScheduledSweepInput): Promise<SweepWorkflowResult> {
  const sweepId = `sw-${uuid4()}`;
  const tag = scheduleTag(input.scheduleId);
  const spec: SweepSpec = { ...input.spec, tags: input.spec.tags.includes(tag) ? input.spec.tags : [...input.spec.tags, tag] };
  await bookkeepingActivities().createSweep({ sweepId, spec });
  return executeChild(SweepWorkflow, { workflowId: sweepId, args: [{ sweepId, spec, activityTaskQueue: input.activityTaskQueue }] });
}
