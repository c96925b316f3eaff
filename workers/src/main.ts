/** Worker process entry point. */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { workerConfigFromEnv } from './config.js';
import { createWorkers } from './worker.js';

Runtime.install({ logger: new DefaultLogger((process.env.LOPPER_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN') });
const workers = await createWorkers(workerConfigFromEnv());
console.log(`[worker] ready (${workers.backend}, pid ${process.pid})`);
// Why no faster backend was chosen; Dawn's own "vkCreateInstance" warnings on a machine without a Vulkan driver come from the webgpu probe.
if (workers.skippedBackends.length) console.log(`[worker] passed over: ${workers.skippedBackends.join('; ')}`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => workers.shutdown());
await workers.run();
await workers.close();
console.log('[worker] stopped');
