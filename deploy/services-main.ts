/** `npm run services`: start Postgres and Temporal with the defaults, migrate, print the environment, wait for Ctrl-C. */
import { applyMigrations } from '../prisma/src/engine.js';
import { startServices } from './services.js';

const s = await startServices({ dataDir: process.env.LOPPER_DATA_DIR ?? '.data' });
const applied = await applyMigrations(s.databaseUrl);
console.log(`[services] migrations: ${applied.length ? applied.join(', ') : 'up to date'}`);
console.log(`export DATABASE_URL='${s.databaseUrl}'\nexport TEMPORAL_ADDRESS='${s.temporalAddress}'`);
const stop = async () => { await s.stop(); process.exit(0); };
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
