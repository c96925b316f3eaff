/** Determinism: a recorded SweepWorkflow history (npm run fixtures:history) must replay on the current workflow code. */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

it('replays the recorded SweepWorkflow history without nondeterminism', async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const saved = JSON.parse(readFileSync(new URL('./fixtures/sweep-history.json', import.meta.url), 'utf8')) as { workflowId: string; history: unknown };
  const history = historyFromJSON(saved.history);
  expect(history.events?.length).toBeGreaterThan(20);
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../workflows/src/index.ts'), logger: new DefaultLogger('ERROR') } as never, history, saved.workflowId);
});
