/** Determinism: recorded workflow histories (npm run fixtures:history) must replay on the current workflow code. */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

it.each([
  ['SweepWorkflow', 'sweep-history.json', 20],
  ['ScheduledSweepWorkflow (a scheduled run and its child sweep)', 'scheduled-sweep-history.json', 8],
  ['SweepWorkflow (work handed back by stopping workers, scheduled again)', 'sweep-handback-history.json', 60],
  // Recorded before the bookkeeping activities moved to the workflow's own queue: workflows in flight across that upgrade.
  ['SweepWorkflow (v1: bookkeeping on the compute queue)', 'sweep-history-v1.json', 20],
  ['ScheduledSweepWorkflow (v1: bookkeeping on the compute queue)', 'scheduled-sweep-history-v1.json', 8],
])('replays the recorded %s history without nondeterminism', async (_name, file, minEvents) => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const saved = JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')) as { workflowId: string; history: unknown };
  const history = historyFromJSON(saved.history);
  expect(history.events?.length).toBeGreaterThan(minEvents);
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../workflows/src/index.ts'), logger: new DefaultLogger('ERROR') } as never, history, saved.workflowId);
});
