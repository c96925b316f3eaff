/** Sweep logic: validation, creation, views, Pareto front, cancellation. */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { gridAxes, gridSize, modelNames, type SweepSpec } from '../../../../workflows/src/spec.js';
import { API_CONFIG, type ApiConfig } from '../config.js';
import { Conflict, NotFound, ValidationError } from '../errors.js';
import { TFJS_WEIGHTS_FILE, tfjsModelJson, unpackModel } from '../../../../workers/src/pruning/model-format.js';
import { paretoFront } from '../pareto.js';
import { compare, summarize, type Comparison, type SweepSummary } from '../summary.js';
import { UnknownUserModel } from '../../../../prisma/src/sweep-rows.js';
import { SweepsRepository } from './sweeps.repository.js';
import { ModelsService } from '../models/models.service.js';
import { PARETO_OBJECTIVES, parseSweepSpec, type ParetoObjective, type ParetoPoint, type ParetoView, type SweepListQuery, type SweepPlanView, type SweepView, type TrialModelView, type TrialQuery, type TrialView } from './sweeps.dto.js';
import { estimateRemaining, runningWork, type SweepProgressView } from '../progress.js';
import { activityTaskQueue } from '../../../../workflows/src/constants.js';
import { SweepWorkflowClient } from './workflow.client.js';

type SweepRow = NonNullable<Awaited<ReturnType<SweepsRepository['find']>>>;
type TrialRow = NonNullable<Awaited<ReturnType<SweepsRepository['findTrial']>>>;

const num = (v: bigint | number | null) => (v === null ? null : Number(v));

/** Artifacts stored this recently are never collected: longer than a compute activity may run (2 hours) before it writes the row. */
export const ARTIFACT_GRACE_MS = 3 * 3600_000;

@Injectable()
export class SweepsService {
  constructor(
    @Inject(SweepsRepository) private readonly repo: SweepsRepository,
    @Inject(SweepWorkflowClient) private readonly workflows: SweepWorkflowClient,
    @Inject(API_CONFIG) private readonly cfg: ApiConfig,
    @Inject(ModelsService) private readonly models: ModelsService,
  ) {}

  /** The body as a sweep spec (defaults filled), or a 400 naming each bad field; a user model must have been uploaded. */
  private async validSpec(body: unknown): Promise<SweepSpec> {
    const spec = parseSweepSpec(body, this.cfg.maxTrials);
    if (spec.userModel) await this.models.requireUploaded(spec.userModel, 'userModel');
    return spec;
  }

  /** What create() would run for `body` (400 naming each bad field, as there), writing nothing and starting nothing. */
  async plan(body: unknown): Promise<SweepPlanView> {
    const spec = await this.validSpec(body);
    const axes = gridAxes(spec);
    return { valid: true, totalTrials: gridSize(spec), baselines: axes.models.length * axes.seeds.length, axes, spec };
  }

  /** Validates, stores the sweep with its trials, starts SweepWorkflow; nothing stays written if a step fails. */
  async create(body: unknown): Promise<{ id: string; totalTrials: number }> {
    const spec = await this.validSpec(body);
    const id = `sw-${randomUUID()}`;
    const totalTrials = await this.repo.create(id, spec).catch((e: unknown) => {
      // Deleted between the check above and the write (which locks the model's row): nothing was written.
      throw e instanceof UnknownUserModel ? new ValidationError([{ field: 'userModel', message: e.message }]) : e;
    });
    try {
      await this.workflows.start(id, spec);
    } catch (e) {
      await this.repo.delete(id);
      throw e;
    }
    return { id, totalTrials };
  }

  async get(id: string): Promise<SweepView> {
    const row = await this.requireSweep(id);
    const counts = await this.repo.counts([id]);
    return this.view(row, counts.get(id) ?? {});
  }

  async list(q: SweepListQuery = { limit: 50 }): Promise<SweepView[]> {
    const rows = await this.repo.list(q);
    if (!rows) throw new ValidationError([{ field: 'before', message: `no sweep ${q.beforeId}: give the id of the last sweep of the previous page, or an ISO 8601 time` }]);
    const counts = await this.repo.counts(rows.map((r) => r.id));
    return rows.map((r) => this.view(r, counts.get(r.id) ?? {}));
  }

  async trials(id: string, q?: TrialQuery): Promise<TrialView[]> {
    await this.requireSweep(id);
    return (await this.repo.trials(id, q)).map(trialView);
  }

  async trial(id: string): Promise<TrialView> {
    const t = await this.requireTrial(id);
    return trialView(t);
  }

  /** The trial's stored model (pruned, fine-tuned; channels removed for structured methods) as TF.js files. */
  async trialModel(id: string): Promise<TrialModelView> {
    const t = await this.requireTrial(id);
    if (t.status !== 'DONE' || !t.artifactUri) throw new Conflict(`trial ${id} is ${t.status}: its model is stored when the trial is DONE`);
    const bytes = await this.repo.artifact(t.artifactUri).catch((e: Error) => {
      throw new Conflict(`trial ${id}'s model cannot be read here: ${e.message}`);
    });
    const { header, weights } = unpackModel(bytes);
    const metadata = { lopper: { trialId: t.id, sweepId: t.sweepId, method: t.method, amount: t.amount, seed: t.seed, outputs: 'logits' } };
    return {
      name: `${t.method} ${t.amount} seed ${t.seed} (${t.sweepId})`,
      modelJson: tfjsModelJson(header, metadata),
      weights: { [TFJS_WEIGHTS_FILE]: Buffer.from(weights).toString('base64') },
    };
  }

  /**
   * What the sweep computes now: each trial or baseline a worker holds (phase, epoch, batch of batches, attempt, last
   * heartbeat) or that waits for one, from Temporal's view of the workflow, and the workers polling its task queue (none:
   * it waits for ever, a GPU sweep with no GPU worker say); nothing once the sweep has ended.
   */
  async progress(id: string): Promise<SweepProgressView> {
    const sweep = await this.get(id);
    if (!['PENDING', 'RUNNING'].includes(sweep.status)) return { sweepId: id, status: sweep.status, counts: sweep.counts, running: [], queue: null, estimate: null };
    const queue = activityTaskQueue(sweep.spec);
    const [pending, workers, done] = await Promise.all([this.workflows.pendingActivities(id), this.workflows.activityPollers(queue), this.repo.doneDurations(id)]);
    // Only the rows of the trials in flight: a 10,000-trial sweep polled every second reads a few rows, not all of them.
    const inFlight = [...new Set(pending.flatMap((p) => (p.details?.trialId ? [p.details.trialId] : [])))];
    const trials = inFlight.length ? (await this.repo.trialsByIds(id, inFlight)).map(trialView) : [];
    const running = runningWork(pending, trials);
    // How long each trial a worker holds now has run (its current attempt).
    const now = Date.now();
    const runningMs = pending.filter((p) => p.activity === 'runTrial' && !p.scheduled).map((p) => (p.startedAt ? Math.max(0, now - Date.parse(p.startedAt)) : 0));
    const left = sweep.totalTrials - sweep.counts.done - sweep.counts.failed;
    return { sweepId: id, status: sweep.status, counts: sweep.counts, running, queue: { name: queue, workers }, estimate: estimateRemaining(done, left, runningMs, sweep.spec.concurrency, workers.length) };
  }

  /** Per method x amount over the seeds: mean ± sample sd of each metric, and the front of the means. */
  async summary(id: string): Promise<SweepSummary> {
    return summarize(id, await this.trials(id));
  }

  /** Sweeps side by side: each one's cells over its seeds, and the front over all of them; 404 naming a missing id. */
  async compare(ids: string[]): Promise<Comparison> {
    const rows = await Promise.all(ids.map((id) => this.requireSweep(id)));
    const trialsOf = new Map(await Promise.all(ids.map(async (id): Promise<[string, TrialView[]]> => [id, (await this.repo.trials(id)).map(trialView)])));
    return compare(rows.map((r) => ({ id: r.id, name: r.name, model: r.model, status: r.status, createdAt: r.createdAt.toISOString() })), trialsOf);
  }

  /** The finished trials no other beats on both accuracy and `objective` (compression by default), and what beats the rest. */
  async pareto(id: string, objective: ParetoObjective = 'compression'): Promise<ParetoView> {
    const { field, direction } = PARETO_OBJECTIVES[objective];
    const sign = direction === 'max' ? 1 : -1;
    const trials = await this.trials(id);
    const points = trials
      .filter((t) => t.status === 'DONE' && t.accuracy !== null && t.compressionRate !== null && t[field] !== null && Number.isFinite(t[field]))
      .map((t) => ({ id: t.id, objectives: [t.accuracy!, sign * t[field]!], t }));
    const { front, dominated } = paretoFront(points);
    const pt = (t: TrialView): ParetoPoint => ({
      trialId: t.id, model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetune: t.finetune, accuracy: t.accuracy!, compressionRate: t.compressionRate!,
      nonzeroParams: t.nonzeroParams, gzipBytes: t.gzipBytes, speedup: t.speedup,
    });
    return {
      sweepId: id,
      objectives: { accuracy: 'max', [field]: direction },
      objective,
      front: front.map((p) => pt(p.t)).sort((a, b) => sign * (a[field]! - b[field]!)),
      dominated: dominated.map((d) => ({ ...pt(d.point.t), dominatedBy: d.dominatedBy })),
    };
  }

  async cancel(id: string): Promise<{ id: string; cancelled: boolean; status: string }> {
    const row = await this.requireSweep(id);
    if (!['PENDING', 'RUNNING'].includes(row.status)) return { id, cancelled: false, status: row.status };
    const requested = await this.workflows.cancel(id);
    if (requested) await this.repo.markCancelled(id);
    const after = await this.repo.find(id);
    return { id, cancelled: requested, status: after!.status };
  }

  /**
   * Runs an ended sweep (COMPLETED with failed trials, FAILED or CANCELLED) again on its stored spec: the trials that are
   * not DONE go back to PENDING and a new workflow run trains them; DONE trials and trained baselines are reused.
   * If the workflow cannot start, the rows are put back as they were.
   */
  async resume(id: string): Promise<{ id: string; resumedTrials: number; status: string }> {
    const row = await this.requireSweep(id);
    if (row.status === 'PENDING' || row.status === 'RUNNING') throw new Conflict(`sweep ${id} is ${row.status}: only an ended sweep can be resumed`);
    const unfinished = await this.repo.unfinishedTrials(id);
    if (!unfinished.length) throw new Conflict(`sweep ${id} has nothing to resume: all ${row.totalTrials} trials are DONE`);
    if (!(await this.repo.reopen(id, row.status))) throw new Conflict(`sweep ${id} is being resumed by another request`);
    try {
      await this.workflows.start(id, row.spec as unknown as SweepSpec);
    } catch (e) {
      await this.repo.restore(row, unfinished);
      throw e;
    }
    return { id, resumedTrials: unfinished.length, status: 'PENDING' };
  }

  /**
   * Deletes an ended sweep and its trials (409 while it runs: cancel it first), then frees the stored models nothing
   * references any more (content-addressed: a model another trial also produced stays) and no worker stored within
   * ARTIFACT_GRACE_MS. Baselines stay: later sweeps reuse them.
   */
  async delete(id: string): Promise<{ id: string; deleted: true; trials: number; freedArtifacts: number; freedBytes: number }> {
    const row = await this.requireSweep(id);
    if (row.status === 'PENDING' || row.status === 'RUNNING') throw new Conflict(`sweep ${id} is ${row.status}: cancel it before deleting it`);
    // CANCELLED at once, but its trials in flight may still be storing results until they hear of it.
    if (await this.workflows.isOpen(id)) throw new Conflict(`sweep ${id}'s workflow is still winding down (its trials in flight stop within seconds); try again when it has ended`);
    const gone = await this.repo.deleteEnded(id, row.status);
    if (gone === null) throw new Conflict(`sweep ${id} changed while being deleted (resumed?); nothing was deleted`);
    const rows = await this.repo.collectArtifacts(ARTIFACT_GRACE_MS);
    const files = await this.repo.collectFileArtifacts(gone.fileUris, ARTIFACT_GRACE_MS);
    return { id, deleted: true, trials: gone.trials, freedArtifacts: rows.artifacts + files.artifacts, freedBytes: rows.bytes + files.bytes };
  }

  private async requireSweep(id: string): Promise<SweepRow> {
    const row = await this.repo.find(id);
    if (!row) throw new NotFound(`sweep ${id} not found`);
    return row;
  }

  private async requireTrial(id: string): Promise<TrialRow> {
    const t = await this.repo.findTrial(id);
    if (!t) throw new NotFound(`trial ${id} not found`);
    return t;
  }

  private view(row: SweepRow, c: Record<string, number>): SweepView {
    const spec = row.spec as unknown as SweepSpec;
    const baselines = row.baselines
      .map((b) => ({ model: b.model, seed: b.seed, accuracy: b.baseline.accuracy, totalParams: b.baseline.totalParams }))
      .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.seed - b.seed));
    const accs = baselines.map((b) => b.accuracy);
    const params = [...new Set(baselines.map((b) => b.totalParams))];
    return {
      id: row.id, name: row.name, model: row.model, models: modelNames(spec), dataset: row.dataset, status: row.status, tags: row.tags,
      totalTrials: row.totalTrials,
      counts: { pending: c.PENDING ?? 0, running: c.RUNNING ?? 0, done: c.DONE ?? 0, failed: c.FAILED ?? 0 },
      baselineAccuracy: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null,
      baselineParams: params.length === 1 ? params[0] : null, baselines, error: row.error,
      createdAt: row.createdAt.toISOString(), finishedAt: row.finishedAt?.toISOString() ?? null, spec,
    };
  }
}

function trialView(t: TrialRow): TrialView {
  return {
    id: t.id, model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetune: t.finetune, status: t.status, accuracy: t.accuracy, accuracyDrop: t.accuracyDrop,
    totalParams: t.totalParams, nonzeroParams: t.nonzeroParams, baselineParams: t.baselineParams, compressionRate: t.compressionRate, flops: num(t.flops),
    effectiveFlops: num(t.effectiveFlops), latencyMs: t.latencyMs, baselineLatencyMs: t.baselineLatencyMs,
    speedup: t.latencyMs && t.baselineLatencyMs ? t.baselineLatencyMs / t.latencyMs : null, sizeBytes: t.sizeBytes, gzipBytes: t.gzipBytes, durationMs: t.durationMs, backend: t.backend, device: t.device, attempts: t.attempts,
    error: t.error, config: t.config,
  };
}
