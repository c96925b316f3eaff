/** The HTTP contract of /sweeps: request validation and response shapes (also the source of the OpenAPI document). */
import { z } from 'zod';
import { BATCHNORM_MODELS, DATASETS, DEFAULT_GRADUAL, METHODS, MODELS, OPTION_READERS, modelNames, SCHEDULED_METHOD_NAMES, STRUCTURED_METHOD_NAMES, USER_MODEL, gridSize, type MethodName, type SweepSpec } from '../../../../workflows/src/spec.js';
import { fieldErrors, requireJsonObject, ValidationError } from '../errors.js';
import { enumParam, intParam, onlyParams, pageLimit, queryValue } from '../query.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const EPOCHS = z.number().int().min(0).max(1000);
const LEARNING_RATE = finite.gt(0).max(10);
const DISTILL = z.object({ temperature: finite.gt(0).max(100).default(4), alpha: finite.min(0).max(1).default(0.7) }).strict().nullable();
const LR_SCHEDULE = z.enum(['cosine', 'constant'], { error: 'must be cosine or constant' });
const MIN_LEARNING_RATE = finite.min(0).max(10);
const UNPRUNED_LR_MULTIPLIER = finite.gt(0, 'must be > 0').max(100);
const FinetuneSchema = z
  .object({
    lrSchedule: LR_SCHEDULE.default('cosine'),
    minLearningRate: MIN_LEARNING_RATE.default(1e-6),
    unprunedLrMultiplier: UNPRUNED_LR_MULTIPLIER.default(1),
    distill: DISTILL.default(null),
  })
  .strict();
/** A fine-tuning setting's finetune: only the keys it gives, each replacing the sweep's (no defaults filled in). */
const FinetuneOverrideSchema = z
  .object({ lrSchedule: LR_SCHEDULE.optional(), minLearningRate: MIN_LEARNING_RATE.optional(), unprunedLrMultiplier: UNPRUNED_LR_MULTIPLIER.optional(), distill: DISTILL.optional() })
  .strict();

export const CreateSweepSchema = z
  .object({
    name: z.string().trim().min(1, 'must be a non-empty string').max(200),
    model: z.enum(MODELS, { error: `must be one of ${MODELS.join(', ')}` }).optional(),
    // The grid's model axis, instead of model: each model has its own baselines, and trial ids name the model.
    models: z.array(z.enum(MODELS, { error: `must be one of ${MODELS.join(', ')}` })).min(1, 'must name at least one model').max(10, 'must name at most 10 models').optional(),
    userModel: z.string().regex(/^um-[0-9a-f]{64}$/, 'must be an id that POST /models returned (um-<64 hex digits>)').optional(),
    dataset: z.enum(DATASETS, { error: `must be one of ${DATASETS.join(', ')}` }).default('fashion-mnist'),
    methods: z.array(z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` })).min(1, 'must name at least one method'),
    amounts: z.array(finite.min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)')).min(1, 'must hold at least one amount'),
    seeds: z.array(z.number().int('must be an integer').min(0).max(2 ** 31 - 1)).min(1, 'must hold at least one seed'),
    baselineEpochs: z.number().int().min(0).max(1000),
    finetuneEpochs: EPOCHS,
    trainSubset: z.number().int().min(1).max(60_000).optional(),
    testSubset: z.number().int().min(1).max(10_000).optional(),
    batchSize: z.number().int().min(1).max(8192).default(128),
    learningRate: finite.gt(0).max(10).default(1e-3),
    finetuneLearningRate: LEARNING_RATE.optional(),
    concurrency: z.number().int().min(1).max(1000).default(4),
    requireGpu: z.boolean().default(false),
    slimming: z
      .object({
        lambda: finite.gt(0, 'must be > 0').max(1, 'must be <= 1').default(1e-4),
        sparsityEpochs: z.number().int().min(0).max(1000).default(1),
      })
      .strict()
      .default({ lambda: 1e-4, sparsityEpochs: 1 }),
    finetune: FinetuneSchema.default({ lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: null }),
    // The grid's fine-tuning axis: each setting's fields over the ones above (absent: one setting, those fields).
    finetuneSettings: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/, 'must be 1-40 letters, digits, ".", "_" or "-", starting with a letter or digit'),
            finetuneEpochs: EPOCHS.optional(),
            finetuneLearningRate: LEARNING_RATE.optional(),
            finetune: FinetuneOverrideSchema.optional(),
          })
          .strict(),
      )
      .min(1, 'must hold at least one setting (or be left out)')
      .max(20, 'must hold at most 20 settings')
      .optional(),
    structured: z
      .object({
        minKeepFraction: finite.min(0).lt(1, 'must be < 1').default(0.1),
        importanceBatches: z.number().int().min(1).max(10_000).default(10),
        hybridChannelFraction: finite.min(0).lt(1, 'must be < 1').default(0.5),
        // ln-structured's norm order: torch's n (JSON has no Infinity, hence the strings).
        norm: z.union([finite.gt(0), z.enum(['inf', '-inf', 'fro'])], { error: "must be a positive number, 'inf', '-inf' or 'fro'" }).default(2),
        // taylor-structured's FLOPs regularisation (Molchanov et al. 2017), in units of the costliest channel's FLOPs.
        flopsPenalty: finite.min(0, 'must be >= 0').max(10, 'must be <= 10').default(0),
      })
      .strict()
      .default({ minKeepFraction: 0.1, importanceBatches: 10, hybridChannelFraction: 0.5, norm: 2, flopsPenalty: 0 }),
    gradual: z
      .object({
        schedule: z.enum(['polynomial', 'linear-step', 'constant'], { error: 'must be polynomial, linear-step or constant' }).default(DEFAULT_GRADUAL.schedule),
        begin: finite.min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)').default(DEFAULT_GRADUAL.begin),
        end: finite.gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').default(DEFAULT_GRADUAL.end),
        updates: z.number().int('must be an integer').min(1, 'must be >= 1').max(100_000).default(DEFAULT_GRADUAL.updates),
        power: finite.gt(0, 'must be > 0').max(100, 'must be <= 100').default(DEFAULT_GRADUAL.power),
        increment: finite.gt(0, 'must be in (0, 1)').lt(1, 'must be in (0, 1)').default(DEFAULT_GRADUAL.increment),
      })
      .strict()
      .refine((g) => g.end > g.begin, { message: 'must be greater than gradual.begin', path: ['end'] })
      .default(DEFAULT_GRADUAL),
    batchNormRecalibration: z.number().int('must be an integer').min(0).max(10_000).default(0),
    tags: z.array(z.string().min(1).max(100)).max(50).default([]),
  })
  .strict();

export type CreateSweepDto = z.input<typeof CreateSweepSchema>;

/** Validates a request body into a full SweepSpec, or throws ValidationError naming each bad field. */
export function parseSweepSpec(body: unknown, maxTrials: number): SweepSpec {
  requireJsonObject(body);
  const r = CreateSweepSchema.safeParse(body);
  if (!r.success) {
    throw new ValidationError(fieldErrors(r.error.issues));
  }
  const { model, models, ...rest } = r.data;
  // A stored spec (GET /sweeps/:id) holds both, model the first of models: taken back as it is.
  if (model && models && model !== models[0]) throw new ValidationError([{ field: 'models', message: `give model (one) or models (several), not both (or model as the first of models; got "${model}")` }]);
  if (!model && !models) throw new ValidationError([{ field: 'model', message: `is required (one of ${MODELS.join(', ')}), or models: a list of them` }]);
  const spec = { ...rest, model: model ?? models![0], ...(models ? { models: [...new Set(models)] } : {}) } as SweepSpec;
  const all = modelNames(spec);
  const named = models ? 'models include' : 'model is';
  if (all.includes(USER_MODEL) && !spec.userModel) throw new ValidationError([{ field: 'userModel', message: 'is required with model "user" (the id POST /models returned)' }]);
  if (!all.includes(USER_MODEL) && spec.userModel) throw new ValidationError([{ field: 'userModel', message: `goes with model "user" only (${named} ${all.map((m) => `"${m}"`).join(', ')})` }]);
  if (all.some((m) => m !== USER_MODEL) && spec.baselineEpochs < 1) {
    throw new ValidationError([{ field: 'baselineEpochs', message: 'must be >= 1 (0, evaluating the model as uploaded, is for model "user" only)' }]);
  }
  // A user model's BatchNorm layers are checked by the worker when it loads the model.
  const noBatchNorm = all.filter((m) => m !== USER_MODEL && !BATCHNORM_MODELS.includes(m));
  if (spec.methods.includes('network-slimming') && noBatchNorm.length) {
    throw new ValidationError([{ field: 'methods', message: `network-slimming needs BatchNorm layers; ${noBatchNorm.length > 1 ? 'models' : 'model'} ${noBatchNorm.map((m) => `"${m}"`).join(', ')} ${noBatchNorm.length > 1 ? 'have' : 'has'} none (use ${BATCHNORM_MODELS.join(', ')})` }]);
  }
  if ((spec.batchNormRecalibration ?? 0) > 0 && noBatchNorm.length === all.length) {
    throw new ValidationError([{ field: 'batchNormRecalibration', message: `recalibrates BatchNorm layers, and ${named} ${all.map((m) => `"${m}"`).join(', ')}, without any: remove it or use ${BATCHNORM_MODELS.join(', ')}` }]);
  }
  const settings = spec.finetuneSettings ?? [];
  const seen = new Set<string>();
  for (const [i, f] of settings.entries()) {
    if (seen.has(f.name)) throw new ValidationError([{ field: `finetuneSettings.${i}.name`, message: `"${f.name}" names an earlier setting too: names must differ` }]);
    seen.add(f.name);
  }
  const scheduled = spec.methods.filter((m) => SCHEDULED_METHOD_NAMES.includes(m));
  if (scheduled.length) {
    const noEpochs = settings.length
      ? settings.flatMap((f, i) => ((f.finetuneEpochs ?? spec.finetuneEpochs) < 1 ? [`finetuneSettings.${i}.finetuneEpochs`] : []))
      : spec.finetuneEpochs < 1 ? ['finetuneEpochs'] : [];
    if (noEpochs.length) throw new ValidationError(noEpochs.map((field) => ({ field, message: `${scheduled.join(', ')} prune during fine-tuning: finetuneEpochs must be >= 1${field === 'finetuneEpochs' ? '' : " (the setting's, or the sweep's it inherits)"}` })));
  }
  const unread = unreadOptions(body as Record<string, unknown>, spec);
  if (unread.length) throw new ValidationError(unread);
  const n = gridSize(spec);
  if (n > maxTrials) {
    const axes = [...(spec.models ? ['models'] : []), 'methods', 'amounts', 'seeds', ...(settings.length ? ['finetuneSettings'] : [])];
    throw new ValidationError([{ field: axes.join(' x '), message: `grid has ${n} trials, over the cap of ${maxTrials}` }]);
  }
  return spec;
}

let defaults: SweepSpec | undefined;
/** Every option's default: a bare sweep through the schema. */
function optionDefaults(): SweepSpec {
  defaults ??= CreateSweepSchema.parse({ name: 'd', model: 'mlp', methods: ['l1-unstructured'], amounts: [0.5], seeds: [1], baselineEpochs: 1, finetuneEpochs: 1 }) as SweepSpec;
  return defaults;
}

/**
 * Options the request sets (to other than their defaults) that nothing in the sweep would read: a method option
 * (OPTION_READERS) none of its methods takes, or fine-tuning options with finetuneEpochs 0. Refused, so that no setting
 * is silently ignored.
 */
function unreadOptions(body: Record<string, unknown>, spec: SweepSpec): { field: string; message: string }[] {
  const methods = [...new Set(spec.methods)];
  const at = (o: unknown, path: string) => path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
  // Given in the body with a value other than the default (a stored spec, GET /sweeps/:id, holds every default: it
  // changes nothing, so nothing would be ignored).
  const given = (path: string) => at(body, path) !== undefined && JSON.stringify(at(spec, path)) !== JSON.stringify(at(optionDefaults(), path));
  const out: { field: string; message: string }[] = [];
  for (const [path, readers] of Object.entries(OPTION_READERS)) {
    if (!given(path) || methods.some((m) => readers.includes(m))) continue;
    const by = readers === STRUCTURED_METHOD_NAMES ? 'the structured methods' : readers.join(', ');
    out.push({ field: path, message: `is read by ${by} only, and methods (${methods.join(', ')}) include none of them: remove it or add such a method` });
  }
  // The sweep's fine-tuning fields are read by every setting that fine-tunes (all of them, without settings).
  const settings = spec.finetuneSettings ?? [];
  const epochs = settings.length ? settings.map((f) => f.finetuneEpochs ?? spec.finetuneEpochs) : [spec.finetuneEpochs];
  if (epochs.every((e) => e === 0)) {
    for (const path of ['finetune', 'finetuneLearningRate']) {
      if (given(path)) out.push({ field: path, message: `applies to fine-tuning, and finetuneEpochs is 0${settings.length ? ' in every setting' : ''}: remove it or fine-tune` });
    }
  }
  for (const [i, f] of settings.entries()) {
    if (epochs[i] !== 0) continue;
    for (const key of ['finetune', 'finetuneLearningRate'] as const) {
      if (f[key] !== undefined) out.push({ field: `finetuneSettings.${i}.${key}`, message: `applies to fine-tuning, and this setting's finetuneEpochs is 0: remove it or fine-tune` });
    }
  }
  return out;
}

export const TRIAL_STATUSES = ['PENDING', 'RUNNING', 'DONE', 'FAILED'] as const;

/** GET /sweeps/:id/trials: optional filters and a page (in the listing's fixed order: model, seed, method, amount, fine-tuning setting). */
export interface TrialQuery {
  status?: (typeof TRIAL_STATUSES)[number];
  method?: MethodName;
  /** One model's trials. */
  model?: string;
  /** One fine-tuning setting's trials. */
  finetune?: string;
  /** Trials to return at most; all when absent. */
  limit?: number;
  /** Trials to skip first. */
  offset: number;
}

/** What `?format=` takes on the read endpoints: json (default) or csv (RFC 4180, a download: apps/api/src/csv.ts). */
export type BodyFormat = 'json' | 'csv';
const formatParam = (q: Record<string, unknown>): BodyFormat => enumParam('format', queryValue(q, 'format'), ['json', 'csv'] as const) ?? 'json';

/** GET /sweeps/:id/summary?format=; a bad or unknown parameter is a 400 naming it. */
export function parseSummaryQuery(q: Record<string, unknown>): { format: BodyFormat } {
  onlyParams(q, ['format']);
  return { format: formatParam(q) };
}

/** GET /sweeps/:id/trials: the filters, and the body's format (csv: every field, `config` as JSON). */
export type TrialListRequest = TrialQuery & { format: BodyFormat };

/** Validates the query string of GET /sweeps/:id/trials; a bad parameter is a 400 naming it. */
export function parseTrialQuery(q: Record<string, unknown>): TrialListRequest {
  onlyParams(q, ['status', 'method', 'model', 'finetune', 'limit', 'offset', 'format']);
  return {
    format: formatParam(q),
    status: enumParam('status', queryValue(q, 'status'), TRIAL_STATUSES),
    method: enumParam('method', queryValue(q, 'method'), METHODS),
    model: enumParam('model', queryValue(q, 'model'), MODELS),
    finetune: queryValue(q, 'finetune'),
    limit: intParam('limit', queryValue(q, 'limit'), 1, 1_000_000),
    offset: intParam('offset', queryValue(q, 'offset'), 0, 1_000_000, 0),
  };
}

export const SWEEP_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;

/**
 * GET /sweeps: newest first (ties in createdAt by id), `limit` at a time. `before` is where the last page ended: the
 * id of its last sweep (exact, even when sweeps share a createdAt), or a time (sweeps created strictly before it).
 */
export interface SweepListQuery { limit: number; tag?: string; status?: (typeof SWEEP_STATUSES)[number]; before?: Date; beforeId?: string }

export function parseSweepListQuery(q: Record<string, unknown>): SweepListQuery {
  onlyParams(q, ['limit', 'tag', 'status', 'before']);
  const before = queryValue(q, 'before');
  const base = { limit: pageLimit(queryValue(q, 'limit')), tag: queryValue(q, 'tag'), status: enumParam('status', queryValue(q, 'status'), SWEEP_STATUSES) };
  if (before === undefined) return base;
  if (!/^\d{4}-\d{2}-\d{2}/.test(before)) return { ...base, beforeId: before };
  const at = new Date(before);
  if (Number.isNaN(at.getTime())) throw new ValidationError([{ field: 'before', message: `must be the last sweep id of the previous page, or an ISO 8601 time (got "${before}")` }]);
  return { ...base, before: at };
}

/** Most sweeps one GET /compare takes. */
export const MAX_COMPARED_SWEEPS = 20;

/** GET /compare?sweeps=<id>,<id>,…: the sweep ids, each once, in the order given. */
export function parseCompareQuery(q: Record<string, unknown>): { sweeps: string[]; format: BodyFormat } {
  onlyParams(q, ['sweeps', 'format']);
  const format = formatParam(q);
  const ids = [...new Set((typeof q.sweeps === 'string' ? q.sweeps : '').split(',').map((x) => x.trim()).filter(Boolean))];
  if (!ids.length || ids.length > MAX_COMPARED_SWEEPS) {
    throw new ValidationError([{ field: 'sweeps', message: `must list 1 to ${MAX_COMPARED_SWEEPS} sweep ids, comma-separated (got ${ids.length})` }]);
  }
  return { sweeps: ids, format };
}

export interface SweepCounts { pending: number; running: number; done: number; failed: number }

/** A trained baseline the sweep's trials start from: one per model and seed. */
export interface SweepBaselineView { model: string; seed: number; accuracy: number; totalParams: number }

export interface SweepView {
  /** model: the sweep's model, or its models joined by commas; models: each. baselineAccuracy: the mean over all baselines;
   *  baselineParams: their parameter count when all have the same (one model), else null; baselines: each. */
  id: string; name: string; model: string; models: string[]; dataset: string; status: string; tags: string[];
  totalTrials: number; counts: SweepCounts; baselineAccuracy: number | null; baselineParams: number | null; baselines: SweepBaselineView[];
  error: string | null; createdAt: string; finishedAt: string | null; spec: SweepSpec;
}

/**
 * POST /sweeps/validate: what POST /sweeps would run for this body, written nowhere. The axes as the grid takes them
 * (duplicates dropped), the trials and baselines that makes, and the spec with every default filled in.
 */
export interface SweepPlanView {
  valid: true; totalTrials: number; baselines: number;
  axes: { models: string[]; seeds: number[]; methods: string[]; amounts: number[]; finetuneSettings: string[] };
  spec: SweepSpec;
}

export interface TrialView {
  /** model: the trial's model (the sweep's, or one of its models); finetune: the fine-tuning setting's name ("default" in a sweep without finetuneSettings). */
  id: string; model: string; method: string; amount: number; seed: number; finetune: string; status: string; accuracy: number | null;
  accuracyDrop: number | null; totalParams: number | null; nonzeroParams: number | null; baselineParams: number | null; compressionRate: number | null;
  flops: number | null; effectiveFlops: number | null; latencyMs: number | null; baselineLatencyMs: number | null; speedup: number | null;
  sizeBytes: number | null; gzipBytes: number | null; durationMs: number | null; backend: string | null; device: string | null;
  attempts: number; error: string | null; config: unknown;
}

/**
 * GET /trials/:id/model: the trial's pruned model as TensorFlow.js files, in the shape POST /models takes (so it can be
 * uploaded back and pruned again): `modelJson` is its model.json, `weights` its one weight file in base64.
 */
export interface TrialModelView { name: string; modelJson: Record<string, unknown>; weights: Record<string, string> }

/**
 * What GET /sweeps/:id/pareto trades accuracy against (`objective`): the compression rate (default; relative to each
 * trial's own baseline), or an absolute measure that compares models too: nonzero parameters, the stored model's gzip
 * size, or the inference speedup measured against the baseline in the same process.
 */
export const PARETO_OBJECTIVES = {
  compression: { field: 'compressionRate', direction: 'max', label: 'compression up' },
  'nonzero-params': { field: 'nonzeroParams', direction: 'min', label: 'nonzero parameters down' },
  'gzip-size': { field: 'gzipBytes', direction: 'min', label: 'gzip size down' },
  speedup: { field: 'speedup', direction: 'max', label: 'speedup up' },
} as const;
export type ParetoObjective = keyof typeof PARETO_OBJECTIVES;
const OBJECTIVE_NAMES = Object.keys(PARETO_OBJECTIVES) as ParetoObjective[];

/** GET /sweeps/:id/pareto?objective=…; a bad value is a 400 naming it. */
export function parseParetoQuery(q: Record<string, unknown>): { objective: ParetoObjective; format: BodyFormat } {
  onlyParams(q, ['objective', 'format']);
  return { objective: enumParam('objective', queryValue(q, 'objective'), OBJECTIVE_NAMES) ?? 'compression', format: formatParam(q) };
}

export interface ParetoPoint {
  trialId: string; model: string; method: string; amount: number; seed: number; finetune: string; accuracy: number; compressionRate: number;
  nonzeroParams: number | null; gzipBytes: number | null; speedup: number | null;
}

export interface ParetoView {
  sweepId: string;
  /** accuracy: 'max', and the objective's field with its direction (compressionRate: 'max' by default). */
  objectives: Record<string, 'max' | 'min'>;
  objective: ParetoObjective;
  /** Ordered from the most accurate to the best on the objective. */
  front: ParetoPoint[];
  dominated: (ParetoPoint & { dominatedBy: string[] })[];
}
