/**
 * The sweep contract shared by the API (validation), the workflow (grid expansion) and the CLI.
 * Pure and deterministic: safe inside workflow code.
 */
export const MODELS = ['mlp', 'lenet5'] as const;
export const DATASETS = ['fashion-mnist'] as const;
export const METHODS = ['l1-unstructured', 'global-l1-unstructured', 'random-unstructured'] as const;

export type ModelName = (typeof MODELS)[number];
export type DatasetName = (typeof DATASETS)[number];
export type MethodName = (typeof METHODS)[number];

export interface SweepSpec {
  name: string;
  model: ModelName;
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
  tags: string[];
}

export interface TrialPoint {
  trialId: string;
  method: MethodName;
  amount: number;
  seed: number;
}

/** Deterministic trial id: the same grid point of the same sweep always has the same id. */
export function trialId(sweepId: string, method: string, amount: number, seed: number): string {
  return `${sweepId}:${method}:${amount}:${seed}`;
}

/** The grid in a fixed order: seed, then method, then amount (duplicates removed). */
export function expandGrid(sweepId: string, spec: Pick<SweepSpec, 'methods' | 'amounts' | 'seeds'>): TrialPoint[] {
  const out: TrialPoint[] = [];
  const uniq = <T>(xs: T[]) => xs.filter((x, i) => xs.indexOf(x) === i);
  for (const seed of uniq(spec.seeds)) {
    for (const method of uniq(spec.methods)) {
      for (const amount of uniq(spec.amounts)) out.push({ trialId: trialId(sweepId, method, amount, seed), method, amount, seed });
    }
  }
  return out;
}

export function gridSize(spec: Pick<SweepSpec, 'methods' | 'amounts' | 'seeds'>): number {
  const n = (xs: unknown[]) => new Set(xs).size;
  return n(spec.methods) * n(spec.amounts) * n(spec.seeds);
}
