// Workflow bundle entry: every workflow the worker registers.
export { SweepWorkflow } from './sweep.workflow.js';
export { ScheduledSweepWorkflow } from './scheduled-sweep.workflow.js';
