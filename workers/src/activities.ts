/** Activities, built by a factory over their dependencies (all I/O is in the repository and artifact store). */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { BaselineRef, ComputeHeartbeat, LopperActivities, RunTrialInput, TrainBaselineInput, TrialOutcome } from '../../workflows/src/activity-types.js';
import { DEFAULT_FINETUNE, DEFAULT_GRADUAL, METHODS, UNSTRUCTURED_METHOD_NAMES, USER_MODEL, lnNormOrder, specForModel, specForTrial, type FinetuneOptions, type GradualOptions, type SlimmingOptions, type SweepSpec } from '../../workflows/src/spec.js';
import { batchNormGammaImportance, channelFlops, flopsRegularised, gradientImportance, keepPlan, l1FilterImportance, lnFilterImportance, randomChannelImportance } from './pruning/channels.js';
import { activationLayers } from './pruning/graph.js';
import { channelGroups, removeChannels } from './pruning/surgery.js';
import { GradualPruner } from './pruning/gradual.js';
import { scheduleForSteps, validateSchedule, type Schedule } from './pruning/schedules.js';
import type { ArtifactStore } from './artifacts.js';
import { ByteLru } from './byte-lru.js';
import type { BackendInfo } from './backends/index.js';
import { loadSplit, subset } from './data/fashion-mnist.js';
import { compressionRate, effectiveFlops, flops, inferenceLatencyMs, nonzeroParams, serializedSize, totalParams } from './pruning/metrics.js';
import { buildModel, loadUserModelBytes, prunableWeights, type ModelName } from './pruning/models.js';
import { computeMasks, type MaskSet, type UnstructuredMethod } from './pruning/prune.js';
import { deserializeModel, serializeModel } from './pruning/serialize.js';
import { weightsToHost } from './pruning/host.js';
import { evaluate, sliceBatch, train, TrainingDiverged, type Dataset } from './pruning/train.js';
import { recalibrateBatchNorm, type Recalibration } from './pruning/recalibrate.js';
import type { WorkerRepository } from './repository.js';
import { UnknownUserModel } from '../../prisma/src/sweep-rows.js';
import { handBackFailure } from './lost-activities.js';

export interface ActivityDeps {
  repo: WorkerRepository;
  artifacts: ArtifactStore;
  backend: BackendInfo;
  /** Train/test data for a sweep and seed; defaults to Fashion-MNIST subsets. */
  loadData?: (spec: SweepSpec, seed: number) => { train: Dataset; test: Dataset };
  /** Store pruned models as artifacts (default true). */
  storePrunedModels?: boolean;
  /** Bytes of serialized baselines kept in memory between trials (default 256 MiB; least recently used go first). */
  baselineCacheBytes?: number;
  /** Milliseconds between timer heartbeats (default HEARTBEAT_INTERVAL_MS). */
  heartbeatIntervalMs?: number;
}

export const DEFAULT_BASELINE_CACHE_BYTES = 256 * 2 ** 20;

/** Bump when training code changes in a way that invalidates cached baselines. */
export const BASELINE_VERSION = 1;

export function defaultLoadData(spec: SweepSpec, seed: number): { train: Dataset; test: Dataset } {
  if (spec.dataset !== 'fashion-mnist') throw ApplicationFailure.nonRetryable(`unknown dataset "${spec.dataset}"`, 'InvalidConfig');
  return { train: subset(loadSplit('train'), spec.trainSubset, seed), test: subset(loadSplit('test'), spec.testSubset, seed) };
}

export function baselineConfig(spec: SweepSpec, seed: number) {
  return {
    version: BASELINE_VERSION, model: spec.model, ...(spec.model === USER_MODEL ? { userModel: spec.userModel } : {}), dataset: spec.dataset, seed, epochs: spec.baselineEpochs,
    batchSize: spec.batchSize, learningRate: spec.learningRate, trainSubset: spec.trainSubset ?? null, testSubset: spec.testSubset ?? null,
    // Only when on: the keys of baselines trained before the option existed (and of sweeps without it) stay as they were.
    ...(spec.batchNormRecalibration ? { batchNormRecalibration: spec.batchNormRecalibration } : {}),
  };
}

/** Content address of a baseline: the same model, data, seed and hyperparameters give the same key. */
export function baselineKey(spec: SweepSpec, seed: number): string {
  return createHash('sha256').update(JSON.stringify(baselineConfig(spec, seed))).digest('hex').slice(0, 32);
}

/** Milliseconds between timer heartbeats while an activity computes (default of `ActivityDeps.heartbeatIntervalMs`). */
export const HEARTBEAT_INTERVAL_MS = 5_000;

interface Liveness {
  /** Says what the activity does now (evaluation, pruning, measurement), with a heartbeat; a cancelled activity stops here. */
  phase(phase: string): void;
  /** A training loop's progress callback: a heartbeat after every batch, and cancellation checked. */
  progress(phase: string): (p: { epoch: number; batch: number; batches: number; loss: number }) => void;
}

/**
 * train(), with divergence as a failure no retry can fix (training is deterministic per seed): the baseline or trial
 * fails with the step where the loss stopped being finite, naming the spec field whose rate it trained at.
 */
async function trainOrFail(what: string, rateField: 'learningRate' | 'finetuneLearningRate', ...args: Parameters<typeof train>): Promise<number> {
  try {
    return await train(...args);
  } catch (e) {
    if (e instanceof TrainingDiverged) throw ApplicationFailure.nonRetryable(`${what}: ${e.message}; a lower ${rateField} may avoid it`, 'TrainingDiverged');
    throw e;
  }
}

/**
 * The sweep's BatchNorm recalibration (batchNormRecalibration batches, seeded by the baseline's or trial's seed) of a
 * trained or fine-tuned model, before it is evaluated and stored; what it did, or undefined when the sweep has it off.
 */
async function recalibrate(model: tfl.LayersModel, data: Dataset, spec: SweepSpec, seed: number, live: Liveness): Promise<Recalibration | undefined> {
  if (!spec.batchNormRecalibration) return undefined;
  live.phase('recalibrate BatchNorm');
  return recalibrateBatchNorm(model, data, { batches: spec.batchNormRecalibration, batchSize: spec.batchSize, seed });
}

/**
 * Runs `f` with heartbeats: after every training batch, and from a timer whenever the event loop is free (between
 * evaluation batches, around importance, surgery and measurement), each with the phase and the latest progress. What
 * blocks the loop is one unit of work at a time (a training step, an evaluation batch, one synchronous mask or surgery
 * computation), so a slow backend keeps within the workflow's heartbeat timeout as long as each unit does. The SDK
 * throttles what reaches the server. Each heartbeat names its `subject` (ComputeHeartbeat): the API's progress view reads it.
 */
async function withLiveness<T>(intervalMs: number, subject: Pick<ComputeHeartbeat, 'kind' | 'trialId' | 'model' | 'seed'>, f: (live: Liveness) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let details: ComputeHeartbeat = { ...subject, phase: 'start' };
  const timer = setInterval(() => ctx.heartbeat(details), intervalMs);
  try {
    return await f({
      phase(phase) {
        details = { ...subject, phase };
        ctx.heartbeat(details);
        // Between phases too, not only between training batches: a cancel that arrives after the training loop stops
        // the evaluation, measurement and store that would follow it.
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
      },
      progress(phase) {
        return (p) => {
          details = { ...subject, phase, ...p };
          ctx.heartbeat(details);
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
        };
      },
    });
  } catch (e) {
    // A stopping worker (SIGTERM, SIGINT) cancels what it runs with WORKER_SHUTDOWN. Reported as that cancellation, the
    // stop would spend one of the activity's retry attempts; as WORKER_SHUTDOWN the workflow schedules the work again.
    const reason: unknown = ctx.cancellationSignal.aborted ? ctx.cancellationSignal.reason : undefined;
    if (reason instanceof CancelledFailure && reason.message === 'WORKER_SHUTDOWN') {
      throw handBackFailure(`the worker on ${hostname()} (pid ${process.pid}) stopped during phase "${details.phase}"; the work was handed back`);
    }
    throw e;
  } finally {
    clearInterval(timer);
  }
}

/** Names of the layers that own any of `vars`. */
function layersOf(model: tfl.LayersModel, vars: tfl.LayerVariable[]): Set<string> {
  return new Set(model.layers.filter((l) => l.trainableWeights.some((w) => vars.includes(w))).map((l) => l.name));
}

export function createActivities(deps: ActivityDeps): LopperActivities {
  const { repo, artifacts, backend } = deps;
  const loadData = deps.loadData ?? defaultLoadData;
  const heartbeatMs = deps.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  const baselineBytes = new ByteLru<Uint8Array>(deps.baselineCacheBytes ?? DEFAULT_BASELINE_CACHE_BYTES);

  async function loadBaseline(key: string): Promise<Uint8Array> {
    let bytes = baselineBytes.get(key);
    if (!bytes) {
      const row = await repo.findBaseline(key);
      if (!row) throw new Error(`baseline ${key} not found`);
      bytes = await artifacts.get(row.artifactUri);
      baselineBytes.set(key, bytes);
    }
    return bytes;
  }

  /** The model a baseline starts from: a built-in one, initialised from the seed, or the sweep's uploaded user model. */
  async function baselineModel(spec: SweepSpec, seed: number): Promise<{ model: tfl.LayersModel; notes: string[] }> {
    if (spec.model !== USER_MODEL) return { model: buildModel(spec.model as ModelName, seed), notes: [] };
    const bytes = spec.userModel ? await repo.findUserModel(spec.userModel) : null;
    if (!bytes) throw ApplicationFailure.nonRetryable(`userModel: no uploaded model ${String(spec.userModel)}`, 'InvalidConfig');
    try {
      return await loadUserModelBytes(bytes);
    } catch (e) {
      throw ApplicationFailure.nonRetryable(`userModel ${spec.userModel}: ${(e as Error).message}`, 'InvalidConfig');
    }
  }

  /** Applies the trial's method: masks (unstructured) or a physically smaller model (structured). */
  async function prune(model: tfl.LayersModel, input: RunTrialInput, trainSet: Dataset, learningRate: number, live: Liveness): Promise<{ model: tfl.LayersModel; masks?: MaskSet; gradual?: GradualPruner; prunedLayers: Set<string>; config: object }> {
    const { method, amount, seed, spec } = input;
    const gradualTo = (m: tfl.LayersModel, scope: 'global' | 'lamp' = 'global') => {
      // The sweep's schedule (default: AGP, polynomial decay with power 3, from 0 to `amount` over the first 70% of
      // fine-tuning steps, 10 updates), one global threshold (on |w| or on LAMP scores).
      const steps = spec.finetuneEpochs * Math.ceil(trainSet.count / spec.batchSize);
      if (steps < 1) throw ApplicationFailure.nonRetryable(`${method} needs finetuneEpochs >= 1`, 'InvalidConfig');
      const options: GradualOptions = { ...DEFAULT_GRADUAL, ...spec.gradual };
      const schedule: Schedule = scheduleForSteps(options, amount, steps);
      const problems = validateSchedule(schedule);
      if (problems.length) throw ApplicationFailure.nonRetryable(`gradual: ${problems.join('; ')}`, 'InvalidConfig');
      return { gradual: new GradualPruner(m, schedule, scope), schedule, options };
    };
    if (method === 'gradual-l1-unstructured' || method === 'gradual-lamp-unstructured') {
      const scope = method === 'gradual-lamp-unstructured' ? 'lamp' : 'global';
      const { gradual, schedule, options } = gradualTo(model, scope);
      return { model, gradual, prunedLayers: layersOf(model, prunableWeights(model)), config: { gradual: options, schedule, scope } };
    }
    // The masks and importances below read the weights synchronously: fetch them first (WebGPU cannot read synchronously).
    await weightsToHost(model);
    if ((UNSTRUCTURED_METHOD_NAMES as readonly string[]).includes(method)) {
      const masks = computeMasks(model, method as UnstructuredMethod, amount, seed);
      const prunedVars = masks.filter((m) => m.mask.includes(0)).map((m) => m.variable);
      return { model, masks, prunedLayers: layersOf(model, prunedVars), config: { prunedTensors: prunedVars.length } };
    }
    // Sweeps stored before these options existed have none: fill the API's defaults.
    const slimming: SlimmingOptions = { lambda: 1e-4, sparsityEpochs: 1, ...(spec.slimming as Partial<SlimmingOptions> | undefined) };
    const minKeepFraction = spec.structured?.minKeepFraction ?? 0.1;
    const norm = spec.structured?.norm ?? 2;
    const flopsPenalty = spec.structured?.flopsPenalty ?? 0;
    const groups = channelGroups(model);
    let scores;
    let importanceBatches: number | undefined;
    if (method === 'network-slimming') {
      // Sparsity training: L1 penalty on every BatchNorm gamma, then one global |gamma| threshold.
      const bnLayers = groups.flatMap((g) => activationLayers(model, g)).map((m) => model.getLayer(m.layer));
      if (bnLayers.some((l) => l.getClassName() !== 'BatchNormalization')) throw ApplicationFailure.nonRetryable(`network-slimming: model ${spec.model} lacks BatchNorm after a hidden layer`, 'InvalidConfig');
      const gammaVars = bnLayers.map((l) => l.trainableWeights[0]);
      await trainOrFail('network-slimming sparsity training', 'finetuneLearningRate', model, trainSet, {
        epochs: slimming.sparsityEpochs, batchSize: spec.batchSize, learningRate, seed: seed + 2, onProgress: live.progress('sparsity'),
        penalty: () => tf.tidy(() => tf.mul(slimming.lambda, tf.addN(gammaVars.map((v) => tf.sum(tf.abs(v.read())))))),
      });
      live.phase('prune');
      await weightsToHost(model); // trained since
      scores = batchNormGammaImportance(model, groups);
    } else if (method === 'l1-structured' || method === 'hybrid') {
      scores = l1FilterImportance(model, groups);
    } else if (method === 'ln-structured') {
      scores = lnFilterImportance(model, lnNormOrder(norm), groups);
    } else if (method === 'random-structured') {
      scores = randomChannelImportance(groups, seed);
    } else if (method === 'taylor-structured' || method === 'gradient-structured') {
      const n = (importanceBatches = Math.min(spec.structured?.importanceBatches ?? 10, Math.ceil(trainSet.count / spec.batchSize)));
      const batches = Array.from({ length: n }, (_, i) => sliceBatch(trainSet, i * spec.batchSize, Math.min(trainSet.count, (i + 1) * spec.batchSize)));
      try {
        scores = await gradientImportance(model, batches, method === 'taylor-structured' ? 'taylor' : 'mean-grad', groups);
        if (method === 'taylor-structured') scores = flopsRegularised(scores, channelFlops(model), flopsPenalty);
      } finally {
        tf.dispose(batches.flatMap((b) => [b.x, b.y]));
      }
    } else {
      throw ApplicationFailure.nonRetryable(`unknown method "${method}"`, 'InvalidConfig');
    }
    // Slimming and Taylor (normalised per layer) rank all channels together; L1 filters and mean |grad| per layer.
    const scope = method === 'network-slimming' || method === 'taylor-structured' ? 'global' : 'per-layer';
    // hybrid: remove hybridChannelFraction of the channels, then prune the smaller model gradually to `amount`.
    const channelAmount = method === 'hybrid' ? (spec.structured?.hybridChannelFraction ?? 0.5) : amount;
    const plan = keepPlan(scores, channelAmount, { scope, minKeepFraction });
    const small = removeChannels(model, plan);
    const changed = groups.filter((g) => plan.get(g.producer)!.length < g.channels);
    const hybrid = method === 'hybrid' ? gradualTo(small) : undefined;
    return {
      model: small,
      gradual: hybrid?.gradual,
      prunedLayers: new Set(changed.flatMap((g) => [...g.producers.map((p) => p.layer), ...g.batchNorms.map((b) => b.layer), ...g.consumers])),
      config: {
        ...(method === 'network-slimming' ? { slimming } : {}), ...(method === 'ln-structured' ? { norm } : {}), ...(method === 'taylor-structured' ? { flopsPenalty } : {}),
        // The batches the importance was accumulated over: the sweep's importanceBatches, or all the training set has.
        ...(importanceBatches !== undefined ? { importanceBatches } : {}),
        ...(hybrid ? { channelAmount, gradual: hybrid.options, schedule: hybrid.schedule } : {}), scope, minKeepFraction,
        channels: Object.fromEntries(groups.map((g) => [g.producer, `${plan.get(g.producer)!.length}/${g.channels}`])),
        // Which channels of each group's producer stayed (indices into the baseline's channels).
        keptChannels: Object.fromEntries(groups.map((g) => [g.producer, plan.get(g.producer)!])),
      },
    };
  }

  return {
    async createSweep({ sweepId, spec }) {
      try {
        return { totalTrials: await repo.createSweep(sweepId, spec) };
      } catch (e) {
        // A schedule whose model was deleted after it was created: no retry brings the model back.
        if (e instanceof UnknownUserModel) throw ApplicationFailure.nonRetryable(`userModel: ${e.message}`, 'InvalidConfig');
        throw e;
      }
    },

    async markSweepRunning(sweepId) {
      await repo.markSweepRunning(sweepId);
    },

    async trainBaseline(input: TrainBaselineInput): Promise<BaselineRef> {
      const { sweepId, seed } = input;
      const spec = specForModel(input.spec); // the workflow passes one model's spec (specForModel); this keeps it so
      const key = baselineKey(spec, seed);
      let row = await repo.findBaseline(key);
      if (!row) {
        row = await withLiveness(heartbeatMs, { kind: 'baseline', model: spec.model, seed }, async (live) => {
          const started = Date.now();
          live.phase('load');
          const { train: trainSet, test } = loadData(spec, seed);
          const { model, notes } = await baselineModel(spec, seed);
          try {
            await trainOrFail('baseline', 'learningRate', model, trainSet, { epochs: spec.baselineEpochs, batchSize: spec.batchSize, learningRate: spec.learningRate, seed, onProgress: live.progress('baseline') });
            const recalibration = await recalibrate(model, trainSet, spec, seed, live);
            live.phase('evaluate');
            const accuracy = await evaluate(model, test);
            live.phase('store');
            const bytes = await serializeModel(model);
            const artifactUri = await artifacts.put('baseline', bytes);
            baselineBytes.set(key, bytes);
            return await repo.saveBaseline({
              key, model: spec.model, dataset: spec.dataset, seed, config: { ...baselineConfig(spec, seed), ...(recalibration ? { recalibration } : {}), ...(notes.length ? { notes } : {}) }, accuracy,
              totalParams: totalParams(model), flops: flops(model), artifactUri, durationMs: Date.now() - started, backend: backend.backend,
            });
          } finally {
            model.dispose();
          }
        });
      }
      await repo.linkBaseline(sweepId, spec.model, seed, key);
      return { model: spec.model, seed, key, accuracy: row.accuracy, totalParams: row.totalParams };
    },

    async runTrial(input: RunTrialInput): Promise<TrialOutcome> {
      const { trialId, method, amount, seed, baseline } = input;
      const finetune = input.finetune ?? DEFAULT_FINETUNE;
      let spec: SweepSpec; // the sweep as this trial's model and fine-tuning setting see it
      try {
        spec = specForTrial(input.spec, { model: input.model, finetune });
      } catch (e) {
        throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidConfig');
      }
      if (!(METHODS as readonly string[]).includes(method)) throw ApplicationFailure.nonRetryable(`unknown method "${method}"`, 'InvalidConfig');
      if (!(amount >= 0 && amount < 1)) throw ApplicationFailure.nonRetryable(`amount ${amount} is outside [0, 1)`, 'InvalidConfig');
      const trial = await repo.getTrial(trialId);
      if (!trial) throw ApplicationFailure.nonRetryable(`trial ${trialId} does not exist`, 'InvalidConfig');
      if (trial.status === 'DONE') return { trialId, accuracy: NaN, compressionRate: NaN, skipped: true };
      await repo.startTrial(trialId);

      return withLiveness(heartbeatMs, { kind: 'trial', trialId, model: spec.model, seed }, async (live) => {
        const started = Date.now();
        live.phase('load');
        const { train: trainSet, test } = loadData(spec, seed);
        const bytes = await loadBaseline(baseline.key);
        const baselineModel = await deserializeModel(bytes);
        const ft: FinetuneOptions = { lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: null, ...(spec.finetune as Partial<FinetuneOptions> | undefined) };
        // The teacher is an untouched copy of the baseline: pruning (and slimming's sparsity training) change `model` in place.
        const teacher = ft.distill ? await deserializeModel(bytes) : undefined;
        let model = baselineModel;
        try {
          live.phase('measure baseline latency');
          const baselineLatencyMs = await inferenceLatencyMs(baselineModel);
          const finetuneLearningRate = spec.finetuneLearningRate ?? spec.learningRate / 10;
          live.phase('prune');
          const pruned = await prune(model, { ...input, spec }, trainSet, finetuneLearningRate, live);
          model = pruned.model;
          const unpruned = model.layers.filter((l) => l.trainableWeights.length && !pruned.prunedLayers.has(l.name)).map((l) => l.name);
          await trainOrFail('fine-tuning', 'finetuneLearningRate', model, trainSet, {
            epochs: spec.finetuneEpochs, batchSize: spec.batchSize, learningRate: finetuneLearningRate, seed: seed + 1, onProgress: live.progress('finetune'),
            masks: pruned.masks, gradual: pruned.gradual,
            layerLrMultipliers: ft.unprunedLrMultiplier !== 1 ? new Map(unpruned.map((n) => [n, ft.unprunedLrMultiplier])) : undefined,
            cosine: ft.lrSchedule === 'cosine' ? { minLearningRate: ft.minLearningRate } : undefined,
            distill: ft.distill && teacher ? { teacher, ...ft.distill } : undefined,
          });
          const recalibration = await recalibrate(model, trainSet, spec, seed, live);
          live.phase('evaluate');
          const accuracy = await evaluate(model, test);
          live.phase('measure');
          await weightsToHost(model); // nonzeroParams and effectiveFlops read the weights synchronously
          const nonzero = nonzeroParams(model);
          const size = await serializedSize(model);
          // One serialization gives both the size metrics and the stored artifact.
          const artifactUri = deps.storePrunedModels === false ? null : await artifacts.put('pruned', size.gzipped);
          const result = {
            accuracy, baselineAccuracy: baseline.accuracy, accuracyDrop: baseline.accuracy - accuracy,
            totalParams: totalParams(model), nonzeroParams: nonzero, baselineParams: baseline.totalParams,
            compressionRate: compressionRate(nonzero, baseline.totalParams), flops: flops(model), effectiveFlops: effectiveFlops(model),
            latencyMs: await inferenceLatencyMs(model), baselineLatencyMs, sizeBytes: size.bytes, gzipBytes: size.gzipBytes,
            durationMs: Date.now() - started, backend: backend.backend, device: backend.device, artifactUri,
            config: { model: spec.model, method, amount, seed, finetuneSetting: finetune, finetuneEpochs: spec.finetuneEpochs, finetuneLearningRate, finetune: ft, prunedLayers: [...pruned.prunedLayers], unprunedLayers: unpruned, batchSize: spec.batchSize, baselineKey: baseline.key, ...pruned.config, ...(pruned.gradual ? { gradualSteps: pruned.gradual.history } : {}), ...(recalibration ? { batchNormRecalibration: recalibration } : {}) },
          };
          live.phase('store');
          await repo.completeTrial(trialId, result);
          return { trialId, accuracy, compressionRate: result.compressionRate, skipped: false };
        } finally {
          if (model !== baselineModel) model.dispose();
          baselineModel.dispose();
          teacher?.dispose();
        }
      });
    },

    async markTrialFailed({ trialId, error }) {
      await repo.failTrial(trialId, error);
    },

    async finishSweep({ sweepId, status, error }) {
      await repo.finishSweep(sweepId, status, error);
    },
  };
}
