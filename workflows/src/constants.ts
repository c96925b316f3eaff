/** Task queues: one constant each. Workers on CPU machines poll CPU_TASK_QUEUE, GPU workers GPU_TASK_QUEUE. */
export const CPU_TASK_QUEUE = 'lopper-cpu';
export const GPU_TASK_QUEUE = 'lopper-gpu';
export const WORKFLOW_TASK_QUEUE = 'lopper-workflows';

/** Trials handled by one workflow run before it continues as new (bounds the event history). */
export const TRIALS_PER_RUN = 400;
