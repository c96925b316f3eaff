#!/usr/bin/env node
/** `lopper`: submit sweeps, follow them, print Pareto fronts. */
import { Command, Option } from 'commander';
import { ApiError, LopperApi } from './api-client.js';
import * as cmd from './commands.js';
import { OUTPUT_FORMATS, schedulesTable, type OutputFormat } from './format.js';

const program = new Command('lopper').description('Pruning sweeps from the command line').option('--api <url>', 'API base URL (default $LOPPER_API_URL or http://127.0.0.1:3000)');
const api = () => new LopperApi(program.opts().api);
const print = (s: string) => console.log(s);
/** --format: table (default), csv or json; anything else is refused by name before any request. */
const formatOption = () => new Option('--format <format>', 'table, csv (every field, for spreadsheets and pandas) or json (the API\'s body)').choices(OUTPUT_FORMATS).default('table');

const sweep = program.command('sweep').description('submit and follow sweeps');
sweep.command('submit <file>').description('submit a sweep from a JSON or YAML file').option('-f, --follow', 'follow progress until done')
  .option('--dry-run', 'validate the file and print the grid it would run; submit nothing')
  .action(async (file: string, o: { follow?: boolean; dryRun?: boolean }) => {
    if (o.dryRun) { await cmd.plan(api(), file, print); return; }
    const id = await cmd.submit(api(), file, print);
    if (o.follow) await cmd.status(api(), id, { follow: true });
  });
sweep.command('status <id>').description('show progress; follows until the sweep ends unless --once').option('--once', 'print once and exit')
  .action(async (id: string, o: { once?: boolean }) => { await cmd.status(api(), id, { follow: !o.once }); });
sweep.command('trials <id>').description('print the trials and their metrics (a table, or every field as CSV or JSON)').option('--status <status>', 'PENDING, RUNNING, DONE or FAILED only')
  .option('--method <method>', 'one method only').option('--model <model>', 'one model only (models)').option('--finetune <name>', 'one fine-tuning setting only (finetuneSettings)')
  .addOption(formatOption())
  .action(async (id: string, { format, ...o }: { status?: string; method?: string; model?: string; finetune?: string; format: OutputFormat }) => cmd.trials(api(), id, o, print, format));
sweep.command('summary <id>').description('per grid cell (model x method x amount x fine-tuning setting) over the seeds: mean ± sd of accuracy, drop, compression, speedup, size')
  .addOption(formatOption())
  .action(async (id: string, o: { format: OutputFormat }) => cmd.summary(api(), id, print, o.format));
sweep.command('list').description('list sweeps, newest first').option('--tag <tag>', 'only sweeps with this tag (a schedule\'s: schedule:<id>)')
  .option('--status <status>', 'PENDING, RUNNING, COMPLETED, FAILED or CANCELLED only').option('--limit <n>', 'at most this many (1-500)', '50')
  .option('--before <id>', 'the page after this sweep (the last id a previous list printed)')
  .action(async (o: { tag?: string; status?: string; limit: string; before?: string }) => cmd.listSweeps(api(), o, print));
sweep.command('resume <id>').description('run the trials of an ended sweep that are not DONE again (failed, cancelled)').option('-f, --follow', 'follow progress until done')
  .action(async (id: string, o: { follow?: boolean }) => {
    const r = await api().resume(id);
    print(`resumed ${r.id}: ${r.resumedTrials} trial(s) to run again`);
    if (o.follow) await cmd.status(api(), id, { follow: true });
  });
sweep.command('delete <id>').description('delete an ended sweep, its trials and the stored models nothing else uses').action(async (id: string) => {
  const r = await api().deleteSweep(id);
  print(`deleted ${r.id}: ${r.trials} trial(s); freed ${r.freedArtifacts} stored model(s), ${r.freedBytes} bytes (models stored in the last 3 hours are freed by a later delete)`);
});
sweep.command('cancel <id>').description('cancel a running sweep').action(async (id: string) => {
  const r = await api().cancel(id);
  print(r.cancelled ? `cancel requested (${r.status})` : `not running (${r.status})`);
});
const trial = program.command('trial').description('single trials (ids as listed by `lopper sweep trials`)');
trial.command('download <trialId>').description("write the trial's model (pruned, fine-tuned) as TF.js files: model.json + weights.bin")
  .option('-o, --out <dir>', 'folder to write into (default: ./<trial id>)').option('--force', 'overwrite files already there')
  .action(async (id: string, o: { out?: string; force?: boolean }) => { await cmd.downloadTrialModel(api(), id, o.out ?? id.replace(/[^A-Za-z0-9._-]+/g, '_'), o, print); });
const schedule = program.command('schedule').description('sweeps that start on a cron schedule (nightly runs)');
schedule.command('create <sweep-file>').description('start the sweep in <sweep-file> (JSON or YAML) at every cron time')
  .requiredOption('--cron <expr>', 'cron expression, e.g. "0 2 * * *" (02:00 every day) or @daily')
  .option('--tz <zone>', 'IANA time zone the cron is read in (default UTC)').option('--name <name>', 'a name (default: the sweep\'s)')
  .option('--paused', 'create it paused')
  .action(async (file: string, o: { cron: string; tz?: string; name?: string; paused?: boolean }) => {
    await cmd.createSchedule(api(), file, { cron: o.cron, timezone: o.tz, name: o.name, paused: o.paused }, print);
  });
schedule.command('list').description('schedules, with their next run').action(async () => print(schedulesTable(await api().schedules())));
schedule.command('trigger <id>').description('start a run now').action(async (id: string) => {
  const r = await api().triggerSchedule(id);
  print(`triggered ${r.id}; its sweeps: lopper sweep list --tag ${r.sweepTag}`);
});
schedule.command('pause <id>').description('stop starting runs until unpaused').action(async (id: string) => { print(`paused ${(await api().pauseSchedule(id, true)).id}`); });
schedule.command('unpause <id>').description('start runs again').action(async (id: string) => {
  const s = await api().pauseSchedule(id, false);
  print(`unpaused ${s.id}; next run ${s.nextRuns[0] ?? '-'}`);
});
schedule.command('delete <id>').description('delete the schedule (its sweeps stay)').action(async (id: string) => { print(`deleted ${(await api().deleteSchedule(id)).id}`); });
const model = program.command('model').description('user models');
model.command('upload <model.json>').description('upload a TF.js LayersModel (model.json and the weight files beside it) for sweeps with "model": "user"')
  .option('--name <name>', 'a name for it (default: its folder name)')
  .action(async (file: string, o: { name?: string }) => { await cmd.uploadModel(api(), file, o.name, print); });
model.command('list').description('list uploaded models, newest first').action(async () => {
  const models = await api().models();
  if (!models.length) print('no uploaded models (lopper model upload <model.json>)');
  for (const m of models) print(`${m.id}  ${m.createdAt}  ${String(m.params).padStart(9)} params  ${m.name}`);
});
model.command('delete <id>').description('delete an uploaded model that no sweep or schedule names (its baselines stay)').action(async (id: string) => {
  const r = await api().deleteModel(id);
  print(`deleted ${r.id} (${r.freedBytes} bytes freed)`);
});
program.command('compare <ids...>').description('sweeps side by side (method x amount over seeds), * on the front over all of them')
  .addOption(formatOption())
  .action(async (ids: string[], o: { format: OutputFormat }) => cmd.compare(api(), ids, print, o.format));
program.command('pareto <id>').description('print the Pareto front as a table (csv: every finished trial, on the front or not)')
  .option('--objective <name>', 'what accuracy is traded against: compression (default), nonzero-params, gzip-size or speedup')
  .addOption(formatOption())
  .action(async (id: string, o: { objective?: string; format: OutputFormat }) => cmd.pareto(api(), id, print, o.objective, o.format));

program.parseAsync().catch((e: unknown) => {
  console.error(e instanceof ApiError ? `error (HTTP ${e.status}):\n${e.message}` : `error: ${(e as Error).message}`);
  process.exit(1);
});
