#!/usr/bin/env node
/** `lopper`: submit sweeps, follow them, print Pareto fronts. */
import { Command } from 'commander';
import { ApiError, LopperApi } from './api-client.js';
import * as cmd from './commands.js';

const program = new Command('lopper').description('Pruning sweeps from the command line').option('--api <url>', 'API base URL (default $LOPPER_API_URL or http://127.0.0.1:3000)');
const api = () => new LopperApi(program.opts().api);
const print = (s: string) => console.log(s);

const sweep = program.command('sweep').description('submit and follow sweeps');
sweep.command('submit <file>').description('submit a sweep from a JSON or YAML file').option('-f, --follow', 'follow progress until done')
  .action(async (file: string, o: { follow?: boolean }) => {
    const id = await cmd.submit(api(), file, print);
    if (o.follow) await cmd.status(api(), id, { follow: true });
  });
sweep.command('status <id>').description('show progress; follows until the sweep ends unless --once').option('--once', 'print once and exit')
  .action(async (id: string, o: { once?: boolean }) => { await cmd.status(api(), id, { follow: !o.once }); });
sweep.command('trials <id>').description('print the trials and their metrics as a table').option('--status <status>', 'PENDING, RUNNING, DONE or FAILED only')
  .option('--method <method>', 'one method only').action(async (id: string, o: { status?: string; method?: string }) => cmd.trials(api(), id, o, print));
sweep.command('summary <id>').description('per method x amount over the seeds: mean ± sd of accuracy, drop, compression, speedup, size')
  .action(async (id: string) => cmd.summary(api(), id, print));
sweep.command('list').description('list recent sweeps').action(async () => {
  for (const s of await api().sweeps()) print(`${s.id}  ${s.status.padEnd(9)}  ${s.name}`);
});
sweep.command('resume <id>').description('run the trials of an ended sweep that are not DONE again (failed, cancelled)').option('-f, --follow', 'follow progress until done')
  .action(async (id: string, o: { follow?: boolean }) => {
    const r = await api().resume(id);
    print(`resumed ${r.id}: ${r.resumedTrials} trial(s) to run again`);
    if (o.follow) await cmd.status(api(), id, { follow: true });
  });
sweep.command('cancel <id>').description('cancel a running sweep').action(async (id: string) => {
  const r = await api().cancel(id);
  print(r.cancelled ? `cancel requested (${r.status})` : `not running (${r.status})`);
});
const trial = program.command('trial').description('single trials (ids as listed by `lopper sweep trials`)');
trial.command('download <trialId>').description("write the trial's model (pruned, fine-tuned) as TF.js files: model.json + weights.bin")
  .option('-o, --out <dir>', 'folder to write into (default: ./<trial id>)').option('--force', 'overwrite files already there')
  .action(async (id: string, o: { out?: string; force?: boolean }) => { await cmd.downloadTrialModel(api(), id, o.out ?? id.replace(/[^A-Za-z0-9._-]+/g, '_'), o, print); });
const model = program.command('model').description('user models');
model.command('upload <model.json>').description('upload a TF.js LayersModel (model.json and the weight files beside it) for sweeps with "model": "user"')
  .option('--name <name>', 'a name for it (default: its folder name)')
  .action(async (file: string, o: { name?: string }) => { await cmd.uploadModel(api(), file, o.name, print); });
model.command('list').description('list uploaded models, newest first').action(async () => {
  const models = await api().models();
  if (!models.length) print('no uploaded models (lopper model upload <model.json>)');
  for (const m of models) print(`${m.id}  ${m.createdAt}  ${String(m.params).padStart(9)} params  ${m.name}`);
});
program.command('pareto <id>').description('print the Pareto front as a table').action(async (id: string) => cmd.pareto(api(), id, print));

program.parseAsync().catch((e: unknown) => {
  console.error(e instanceof ApiError ? `error (HTTP ${e.status}):\n${e.message}` : `error: ${(e as Error).message}`);
  process.exit(1);
});
