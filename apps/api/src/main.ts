/** API process entry point. */
import { apiConfigFromEnv } from './config.js';
import { startApi } from './server.js';

const { url } = await startApi(apiConfigFromEnv());
console.log(`[api] listening on ${url} (OpenAPI at ${url}/docs)`);
