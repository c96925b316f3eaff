/**
 * The sweep contract shared by the API (validation), the workflow (grid expansion) and the CLI.
 * Pure and deterministic: safe inside workflow code.
 */
import type { RelativeSchedule } from '../../workers/src/pruning/schedules.js';

/** Built-in models, and `user`: a model uploaded through POST /models, named by the sweep's `userModel`. */
export const MODELS = ['mlp', 'lenet5', 'vgg-small', 'resnet-small', 'user'] as const;
export const USER_MODEL = 'user';
/** Uploaded user models are artifacts of this kind; a model's id is `um-` + the sha256 of its stored bytes. */
export const USER_MODEL_KIND = 'user-model';
export const userModelUri = (id: string) => `pg:artifact/${id.replace(/^um-/, '')}`;
export const DATASETS = ['fashion-mnist'] as const;
export const UNSTRUCTURED_METHOD_NAMES = ['l1-unstructured', 'global-l1-unstructured', 'lamp-unstructured', 'random-unstructured', 'gradual-l1-unstructured', 'gradual-lamp-unstructured'] as const;
/** Structured methods remove channels physically (smaller, faster models). */
export const STRUCTURED_METHOD_NAMES = ['l1-structured', 'ln-structured', 'random-structured', 'network-slimming', 'taylor-structured', 'gradient-structured', 'hybrid'] as const;
/** Methods that prune during fine-tuning on a schedule (`gradual` options); they need finetuneEpochs >= 1. */
export const SCHEDULED_METHOD_NAMES: readonly string[] = ['gradual-l1-unstructured', 'gradual-lamp-unstructured', 'hybrid'];
export const METHODS = [...UNSTRUCTURED_METHOD_NAMES, ...STRUCTURED_METHOD_NAMES] as const;
/**
 * Which methods read each method option of a sweep (the worker's activities record exactly these in each trial's config).
 * The API refuses an option that no method of the sweep reads, rather than ignore it.
 */
export const OPTION_READERS: Readonly<Record<string, readonly string[]>> = {
  slimming: ['network-slimming'],
  'structured.minKeepFraction': STRUCTURED_METHOD_NAMES,
  'structured.importanceBatches': ['taylor-structured', 'gradient-structured'],
  'structured.hybridChannelFraction': ['hybrid'],
  'structured.norm': ['ln-structured'],
  'structured.flopsPenalty': ['taylor-structured'],
  gradual: SCHEDULED_METHOD_NAMES,
};
/** Models with BatchNorm after every hidden conv/dense layer (needed by network-slimming). */
export const BATCHNORM_MODELS: readonly string[] = ['lenet5', 'vgg-small', 'resnet-small'];

export interface SlimmingOptions {
  /** L1 penalty on BatchNorm gamma during sparsity training (Liu et al. 2017: 1e-4 for VGG, 1e-5 for ResNet). */
  lambda: number;
  /** Epochs of sparsity training on the baseline before the threshold. */
  sparsityEpochs: number;
}

export interface FinetuneOptions {
  /** Learning-rate schedule of fine-tuning: cosine annealing to minLearningRate, or constant. */
  lrSchedule: 'cosine' | 'constant';
  minLearningRate: number;
  /** Learning rate of the layers that were not pruned, as a multiple of the pruned layers' (the tutorial: 0.1). */
  unprunedLrMultiplier: number;
  /** Knowledge distillation from the unpruned baseline (null: labels only). */
  distill: { temperature: number; alpha: number } | null;
}

/**
 * One value of the grid's fine-tuning axis: a name, and the fine-tuning fields it sets over the sweep's own
 * (finetuneEpochs, finetuneLearningRate, and each key of finetune it gives).
 */
export interface FinetuneSetting {
  name: string;
  finetuneEpochs?: number;
  finetuneLearningRate?: number;
  finetune?: Partial<FinetuneOptions>;
}

/** The fine-tuning axis of a sweep that gives no finetuneSettings: its own fields, under this name. */
export const DEFAULT_FINETUNE = 'default';

export interface StructuredOptions {
  /** Fewest channels each layer keeps, as a fraction of its channels (one channel always stays). */
  minKeepFraction: number;
  /** Training batches over which taylor-/gradient-structured accumulate their importance. */
  importanceBatches: number;
  /** hybrid: fraction of hidden channels removed (L1 filters) before gradual unstructured pruning to `amount`. */
  hybridChannelFraction: number;
  /** ln-structured: the norm order n of torch's ln_structured (a positive number, 'inf', '-inf' or 'fro'; 'fro' equals 2 here). */
  norm?: LnNorm;
  /**
   * taylor-structured: Molchanov et al. 2017's FLOPs regularisation: each channel's importance minus flopsPenalty x (its
   * FLOPs / the most FLOPs any channel carries), so expensive channels go first (0: off; absent in older sweeps).
   */
  flopsPenalty?: number;
}

/** Norm order as JSON can carry it (JSON has no Infinity). */
export type LnNorm = number | 'inf' | '-inf' | 'fro';

/** The norm order a LnNorm names, as the pruning library takes it. */
export function lnNormOrder(n: LnNorm): number | 'fro' {
  return n === 'inf' ? Infinity : n === '-inf' ? -Infinity : n;
}

/**
 * How the scheduled methods (gradual-*, hybrid) raise sparsity during fine-tuning: the pruning library's relative
 * schedule (workers/src/pruning/schedules.ts, type only). `begin` and `end` are fractions of the fine-tuning steps;
 * polynomial is TF-MOT PolynomialDecay / AGP (power 3), linear-step the tutorial's +increment per update, constant
 * TF-MOT ConstantSparsity.
 */
export type GradualOptions = RelativeSchedule;

export const DEFAULT_GRADUAL: GradualOptions = { schedule: 'polynomial', begin: 0, end: 0.7, updates: 10, power: 3, increment: 0.1 };

export type ModelName = (typeof MODELS)[number];
export type DatasetName = (typeof DATASETS)[number];
export type MethodName = (typeof METHODS)[number];

export interface SweepSpec {
  name: string;
  /** The model; with `models`, the first of them. */
  model: ModelName;
  /** The grid's model axis (absent: `model` alone). Each model has its own baselines, one per seed. */
  models?: ModelName[];
  /** With model `user`: the id POST /models returned (um-<sha256 of the stored model>). */
  userModel?: string;
  dataset: DatasetName;
  methods: MethodName[];
  amounts: number[];
  seeds: number[];
  baselineEpochs: number;
  finetuneEpochs: number;
  trainSubset?: number;
  testSubset?: number;
  batchSize: number;
  learningRate: number;
  /** Fine-tuning learning rate; defaults to learningRate / 10 (Han et al. 2015). */
  finetuneLearningRate?: number;
  concurrency: number;
  requireGpu: boolean;
  slimming: SlimmingOptions;
  finetune: FinetuneOptions;
  structured: StructuredOptions;
  /** Absent in sweeps stored before it existed: DEFAULT_GRADUAL. */
  gradual?: GradualOptions;
  /** The grid's fine-tuning axis (absent: one setting, DEFAULT_FINETUNE, the fields above). */
  finetuneSettings?: FinetuneSetting[];
  /**
   * BatchNorm recalibration: training batches over which every BatchNorm layer's moving mean and variance are recomputed,
   * weights untouched, after the baseline's training and after each trial's pruning and fine-tuning (workers/src/pruning/
   * recalibrate.ts). 0 or absent (sweeps stored before it existed): off, the moving averages as training left them.
   */
  batchNormRecalibration?: number;
  tags: string[];
}

export interface TrialPoint {
  trialId: string;
  model: ModelName;
  method: MethodName;
  amount: number;
  seed: number;
  /** The fine-tuning setting's name (DEFAULT_FINETUNE in a sweep without finetuneSettings). */
  finetune: string;
}

/** The models on the sweep's model axis, in order, duplicates removed. */
export function modelNames(spec: Pick<SweepSpec, 'model' | 'models'>): ModelName[] {
  return spec.models?.length ? [...new Set(spec.models)] : [spec.model];
}

/** The spec as the baselines and trials of one model see it: that model, and no model axis. */
export function specForModel(spec: SweepSpec, model: string = spec.model): SweepSpec {
  if (!spec.models?.length) {
    if (model !== spec.model) throw new Error(`the sweep has no model "${model}" (its model is ${spec.model})`);
    return spec;
  }
  if (!(spec.models as string[]).includes(model)) throw new Error(`the sweep has no model "${model}" (it has ${modelNames(spec).join(', ')})`);
  const { models: _, ...rest } = spec;
  return { ...rest, model: model as ModelName };
}

/** One trial's spec: its model's, then its fine-tuning setting's. */
export function specForTrial(spec: SweepSpec, point: { model?: string; finetune?: string }): SweepSpec {
  return specForFinetune(specForModel(spec, point.model), point.finetune);
}

/** The names on the sweep's fine-tuning axis, in order, duplicates removed. */
export function finetuneNames(spec: Pick<SweepSpec, 'finetuneSettings'>): string[] {
  return spec.finetuneSettings?.length ? [...new Set(spec.finetuneSettings.map((f) => f.name))] : [DEFAULT_FINETUNE];
}

/** The spec as a trial of fine-tuning setting `name` sees it: the setting's fields over the sweep's, and no axis. */
export function specForFinetune(spec: SweepSpec, name: string = DEFAULT_FINETUNE): SweepSpec {
  if (!spec.finetuneSettings?.length) {
    if (name !== DEFAULT_FINETUNE) throw new Error(`the sweep has no fine-tuning setting "${name}"`);
    return spec;
  }
  const f = spec.finetuneSettings.find((x) => x.name === name);
  if (!f) throw new Error(`the sweep has no fine-tuning setting "${name}" (it has ${finetuneNames(spec).join(', ')})`);
  const { finetuneSettings: _, ...rest } = spec;
  return {
    ...rest,
    finetuneEpochs: f.finetuneEpochs ?? spec.finetuneEpochs,
    ...(f.finetuneLearningRate !== undefined || spec.finetuneLearningRate !== undefined ? { finetuneLearningRate: f.finetuneLearningRate ?? spec.finetuneLearningRate } : {}),
    finetune: { ...spec.finetune, ...f.finetune },
  };
}

/** The tag of every sweep a schedule starts (`GET /sweeps?tag=schedule:<id>` lists them). */
export const scheduleTag = (scheduleId: string) => `schedule:${scheduleId}`;

/**
 * Deterministic trial id: the same grid point of the same sweep always has the same id. A sweep with a model axis
 * (models) puts the model after the sweep id; one with a fine-tuning axis (finetuneSettings) ends in the setting's name;
 * a sweep with neither keeps the four-part ids.
 */
export function trialId(sweepId: string, method: string, amount: number, seed: number, finetune?: string, model?: string): string {
  return `${sweepId}:${model === undefined ? '' : `${model}:`}${method}:${amount}:${seed}${finetune === undefined ? '' : `:${finetune}`}`;
}

type GridAxes = Pick<SweepSpec, 'model' | 'models' | 'methods' | 'amounts' | 'seeds' | 'finetuneSettings'>;

/** The grid's axes as it runs them: each value once, in the order given (fine-tuning settings by name). */
export function gridAxes(spec: GridAxes): { models: ModelName[]; seeds: number[]; methods: MethodName[]; amounts: number[]; finetuneSettings: string[] } {
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  return { models: modelNames(spec), seeds: uniq(spec.seeds), methods: uniq(spec.methods), amounts: uniq(spec.amounts), finetuneSettings: finetuneNames(spec) };
}

/** The grid in a fixed order: model, seed, method, amount, fine-tuning setting (duplicates removed). */
export function expandGrid(sweepId: string, spec: GridAxes): TrialPoint[] {
  const out: TrialPoint[] = [];
  const axes = gridAxes(spec);
  const namedSettings = !!spec.finetuneSettings?.length;
  const namedModels = !!spec.models?.length;
  for (const model of axes.models) {
    for (const seed of axes.seeds) {
      for (const method of axes.methods) {
        for (const amount of axes.amounts) {
          for (const finetune of axes.finetuneSettings) {
            const id = trialId(sweepId, method, amount, seed, namedSettings ? finetune : undefined, namedModels ? model : undefined);
            out.push({ trialId: id, model, method, amount, seed, finetune });
          }
        }
      }
    }
  }
  return out;
}

export function gridSize(spec: GridAxes): number {
  const a = gridAxes(spec);
  return a.models.length * a.methods.length * a.amounts.length * a.seeds.length * a.finetuneSettings.length;
}
