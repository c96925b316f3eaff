/**
 * Pruning schedules: tiny pure functions of the training step over plain JSON objects (serialisable,
 * storable with a trial's config). `targetSparsity` returns the sparsity to prune to at `step`, or null
 * when no pruning happens at that step.
 */
export type Schedule =
  /** TF-MOT ConstantSparsity: `target` at every `frequency` steps from `begin` (until `end`, -1 = forever). */
  | { kind: 'constant'; target: number; begin?: number; end?: number; frequency?: number }
  /** TF-MOT PolynomialDecay: final + (initial - final) * (1 - p)^power, p = clip((step - begin)/(end - begin), 0, 1). */
  | { kind: 'polynomial'; initial: number; final: number; begin: number; end: number; power?: number; frequency?: number }
  /** Zhu & Gupta 2017 (AGP): s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3, pruning every dt steps from t0 for n steps. */
  | { kind: 'agp'; initial: number; final: number; t0: number; n: number; dt: number }
  /** The tutorial's schedule: +increment sparsity every `frequency` steps (e.g. 5 epochs) from `begin` (default 0) up to `final`. */
  | { kind: 'linear-step'; initial?: number; final: number; increment?: number; frequency: number; begin?: number };

const clip01 = (x: number) => Math.min(1, Math.max(0, x));

export function targetSparsity(s: Schedule, step: number): number | null {
  switch (s.kind) {
    case 'constant': {
      const begin = s.begin ?? 0, end = s.end ?? -1, freq = s.frequency ?? 100;
      if (step < begin || (end !== -1 && step > end) || (step - begin) % freq !== 0) return null;
      return s.target;
    }
    case 'polynomial': {
      const freq = s.frequency ?? 100, power = s.power ?? 3;
      if (step < s.begin || step > s.end || (step - s.begin) % freq !== 0) return null;
      const p = clip01((step - s.begin) / (s.end - s.begin));
      return s.final + (s.initial - s.final) * (1 - p) ** power;
    }
    case 'agp': {
      const k = (step - s.t0) / s.dt;
      if (step < s.t0 || !Number.isInteger(k) || k > s.n) return null;
      return s.final + (s.initial - s.final) * (1 - k / s.n) ** 3;
    }
    case 'linear-step': {
      const begin = s.begin ?? 0;
      if (step < begin || (step - begin) % s.frequency !== 0) return null;
      return Math.min(s.final, (s.initial ?? 0) + (s.increment ?? 0.1) * ((step - begin) / s.frequency + 1));
    }
    default:
      throw new RangeError(`unknown schedule kind "${(s as { kind: string }).kind}"`);
  }
}

/** Cosine annealing (Loshchilov & Hutter, no restarts): lr(step) from `base` at step 0 to `min` at `total`. */
export function cosineLearningRate(base: number, min: number, step: number, total: number): number {
  return min + 0.5 * (base - min) * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}

/** Checks a schedule's fields; returns the problems (empty when valid). */
export function validateSchedule(s: Schedule): string[] {
  const errs: string[] = [];
  const frac = (name: string, v: unknown) => { if (typeof v !== 'number' || !(v >= 0 && v < 1)) errs.push(`${name} must be a fraction in [0, 1)`); };
  const int = (name: string, v: unknown, min: number) => { if (!Number.isInteger(v) || (v as number) < min) errs.push(`${name} must be an integer >= ${min}`); };
  switch (s.kind) {
    case 'constant': frac('target', s.target); if (s.frequency !== undefined) int('frequency', s.frequency, 1); break;
    case 'polynomial': frac('initial', s.initial); frac('final', s.final); int('begin', s.begin, 0); int('end', s.end, s.begin + 1); if (s.frequency !== undefined) int('frequency', s.frequency, 1); break;
    case 'agp': frac('initial', s.initial); frac('final', s.final); int('t0', s.t0, 0); int('n', s.n, 1); int('dt', s.dt, 1); break;
    case 'linear-step': frac('final', s.final); int('frequency', s.frequency, 1); if (s.begin !== undefined) int('begin', s.begin, 0); if (s.increment !== undefined && !(s.increment > 0 && s.increment < 1)) errs.push('increment must be in (0, 1)'); break;
    default: errs.push(`kind must be one of constant, polynomial, agp, linear-step`);
  }
  return errs;
}

/** A schedule stated over fractions of a training run (what a sweep carries), before the run's step count is known. */
export interface RelativeSchedule {
  schedule: 'polynomial' | 'linear-step' | 'constant';
  /** First and last update, as fractions of the steps (0 <= begin < end <= 1). */
  begin: number;
  end: number;
  /** polynomial, constant: mask updates between begin and end (every floor((end - begin) x steps / updates) steps). */
  updates: number;
  /** polynomial: the decay's power (3: AGP). */
  power: number;
  /** linear-step: sparsity added per update; ceil(final / increment) updates spread over [begin, end]. */
  increment: number;
}

/** The step schedule that raises sparsity to `final` over a run of `steps` training steps. */
export function scheduleForSteps(o: RelativeSchedule, final: number, steps: number): Schedule {
  const begin = Math.floor(o.begin * steps);
  const end = Math.max(begin + 1, Math.floor(o.end * steps));
  const every = (n: number) => Math.max(1, Math.floor((end - begin) / n));
  switch (o.schedule) {
    case 'polynomial': return { kind: 'polynomial', initial: 0, final, begin, end, power: o.power, frequency: every(o.updates) };
    case 'constant': return { kind: 'constant', target: final, begin, end, frequency: every(o.updates) };
    case 'linear-step': return { kind: 'linear-step', initial: 0, final, increment: o.increment, begin, frequency: every(Math.max(1, Math.ceil(final / o.increment - 1e-9))) };
    default: throw new RangeError(`unknown schedule "${(o as { schedule: string }).schedule}"`);
  }
}
