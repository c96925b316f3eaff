/** Task queues: one constant each. Workers on CPU machines poll CPU_TASK_QUEUE, GPU workers GPU_TASK_QUEUE. */
export const CPU_TASK_QUEUE = 'lopper-cpu';
export const GPU_TASK_QUEUE = 'lopper-gpu';
export const WORKFLOW_TASK_QUEUE = 'lopper-workflows';

/** The queue a sweep's activities go to: the GPU one when it requires GPU workers. */
export const activityTaskQueue = (spec: { requireGpu: boolean }) => (spec.requireGpu ? GPU_TASK_QUEUE : CPU_TASK_QUEUE);

/** Trials handled by one workflow run before it continues as new (bounds the event history). */
export const TRIALS_PER_RUN = 400;

/**
 * The failure type of a compute activity whose worker stopped under it (SIGTERM or SIGINT: a deploy, a restart): the
 * work is handed back, not failed. Non-retryable, so the workflow (not the retry policy) schedules it again, and the
 * stop does not spend one of the activity's retry attempts.
 */
export const WORKER_SHUTDOWN = 'WorkerShutdown';

/**
 * The failure type of an activity whose worker process died under it (SIGKILL, out of memory, a crash): reported by the
 * process's supervisor as soon as it sees the death, rather than left to the heartbeat timeout. Retryable: the work
 * itself may have killed the process, so it spends one of the activity's retry attempts.
 */
export const WORKER_PROCESS_DIED = 'WorkerProcessDied';
