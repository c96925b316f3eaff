/**
 * The HTTP contract of /models: a user's own TensorFlow.js LayersModel (its model.json and weight files) uploaded for
 * sweeps to prune. Pure validation: the upload is checked field by field before anything is stored.
 */
import { z } from 'zod';
import type { ModelHeader, WeightSpec } from '../../../../workers/src/pruning/model-format.js';
import { fieldErrors, requireJsonObject, ValidationError } from '../errors.js';

/** The input every dataset Lopper trains on feeds (Fashion-MNIST: 28 x 28 grey images). */
export const USER_MODEL_INPUT = [28, 28, 1] as const;
/** Largest upload accepted (decoded weight bytes). */
export const MAX_USER_MODEL_BYTES = 48 * 1024 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const UploadModelSchema = z
  .object({
    name: z.string().trim().min(1, 'must be a non-empty string').max(200),
    modelJson: z
      .object({
        modelTopology: z.record(z.string(), z.unknown(), { error: 'must be the Keras/TF.js topology object' }),
        weightsManifest: z
          .array(
            z.object({
              paths: z.array(z.string().min(1)).min(1, 'must name at least one weight file'),
              weights: z.array(
                z.object({ name: z.string().min(1), shape: z.array(z.number().int().min(0)), dtype: z.string() }).loose(),
              ),
            }).loose(),
          )
          .min(1, 'must hold at least one group'),
      })
      .loose(),
    weights: z.record(z.string(), z.string().regex(BASE64, 'must be base64'), { error: 'must map each weight file path of the manifest to its bytes in base64' }),
  })
  .strict();

export type UploadModelDto = z.input<typeof UploadModelSchema>;

/** An uploaded model (POST /models's answer, GET /models): `id` goes into a sweep's `userModel` (with model "user"). */
export interface UserModelView { id: string; name: string; params: number; inputShape: (number | null)[]; sizeBytes: number; createdAt: string }

export interface UserModelUpload { name: string; header: ModelHeader; weights: Buffer; params: number; inputShape: (number | null)[] }

type Layer = { class_name?: string; name?: string; config?: Record<string, unknown> };

/** Keras's saved form wraps the model's config in `model_config` (TF.js's loader unwraps it too). */
const modelConfig = (t: Record<string, unknown>) => (t.model_config && typeof t.model_config === 'object' ? (t.model_config as Record<string, unknown>) : t);

/** The model's input shape ([null, 28, 28, 1] for a batch of images), from its topology, or null when it names none. */
export function topologyInputShape(topology: Record<string, unknown>): (number | null)[] | null {
  topology = modelConfig(topology);
  const cfg = (topology.config ?? {}) as Record<string, unknown> | Layer[];
  const layers: Layer[] = Array.isArray(cfg) ? cfg : ((cfg.layers as Layer[] | undefined) ?? []);
  // batch_input_shape: TF.js and Keras 2; batch_shape: Keras 3 InputLayer.
  const shapeOf = (l: Layer | undefined) => (l?.config?.batch_input_shape ?? l?.config?.batchInputShape ?? l?.config?.batch_shape ?? null) as (number | null)[] | null;
  const cls = topology.class_name;
  if (cls === 'Sequential') return shapeOf(layers[0]);
  if (cls === 'Model' || cls === 'Functional') {
    const inputs = ((cfg as Record<string, unknown>).input_layers ?? []) as [string, number, number][];
    if (inputs.length !== 1) return null;
    return shapeOf(layers.find((l) => (l.config?.name ?? l.name) === inputs[0][0]));
  }
  return null;
}

/**
 * The weights holding NaN or an infinity, one error each: a model with them trains to NaN (the baseline fails at its first
 * step) or, with no training, evaluates to noise. `bytes` are the manifest's weights in its order, float32 little-endian.
 */
function nonFiniteWeights(manifest: { weights: { name: string; shape: number[] }[] }[], bytes: Buffer): { field: string; message: string }[] {
  const errors: { field: string; message: string }[] = [];
  let at = 0;
  manifest.forEach((group, g) => group.weights.forEach((w, k) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    let bad = 0;
    let first = -1;
    for (let i = 0; i < size; i++) {
      if (!Number.isFinite(bytes.readFloatLE(4 * (at + i)))) { bad++; if (first < 0) first = i; }
    }
    if (bad) errors.push({ field: `modelJson.weightsManifest.${g}.weights.${k}`, message: `${w.name}: ${bad} of ${size} values are NaN or infinite (the first at index ${first})` });
    at += size;
  }));
  return errors;
}

/** Validates an upload into Lopper's model header and weight bytes, or throws ValidationError naming each bad field. */
export function parseUserModelUpload(body: unknown): UserModelUpload {
  requireJsonObject(body);
  const r = UploadModelSchema.safeParse(body);
  if (!r.success) {
    throw new ValidationError(fieldErrors(r.error.issues));
  }
  const { name, modelJson, weights } = r.data;
  const errors: { field: string; message: string }[] = [];
  const topology = modelJson.modelTopology;
  const cls = modelConfig(topology).class_name;
  if (cls !== 'Sequential' && cls !== 'Model' && cls !== 'Functional') {
    errors.push({ field: 'modelJson.modelTopology.class_name', message: `must be Sequential, Model or Functional (a TF.js LayersModel), not ${JSON.stringify(cls)}` });
  }
  const inputShape = topologyInputShape(topology);
  if (!inputShape) errors.push({ field: 'modelJson.modelTopology', message: 'names no single input shape (batch_input_shape of its input layer)' });
  else if (inputShape.length !== 4 || inputShape[0] !== null || USER_MODEL_INPUT.some((d, i) => inputShape[i + 1] !== d)) {
    errors.push({ field: 'modelJson.modelTopology', message: `input shape ${JSON.stringify(inputShape)}: Lopper's datasets feed [null,${USER_MODEL_INPUT.join(',')}]` });
  }
  const specs: WeightSpec[] = [];
  const parts: Buffer[] = [];
  let params = 0;
  const used = new Set<string>();
  modelJson.weightsManifest.forEach((group, g) => {
    let need = 0;
    group.weights.forEach((w, k) => {
      if (w.dtype !== 'float32') errors.push({ field: `modelJson.weightsManifest.${g}.weights.${k}.dtype`, message: `must be float32 (got ${w.dtype})` });
      if ('quantization' in w) errors.push({ field: `modelJson.weightsManifest.${g}.weights.${k}.quantization`, message: 'quantized weights are not supported' });
      const size = w.shape.reduce((a, b) => a * b, 1);
      need += 4 * size;
      params += size;
      specs.push(w as WeightSpec);
    });
    let have = 0;
    group.paths.forEach((p, k) => {
      used.add(p);
      if (!(p in weights)) { errors.push({ field: `modelJson.weightsManifest.${g}.paths.${k}`, message: `no file "${p}" in weights` }); return; }
      const bytes = Buffer.from(weights[p], 'base64');
      have += bytes.length;
      parts.push(bytes);
    });
    if (group.paths.every((p) => p in weights) && have !== need) {
      errors.push({ field: `modelJson.weightsManifest.${g}`, message: `its files hold ${have} bytes; its weights need ${need} (float32)` });
    }
  });
  for (const p of Object.keys(weights)) if (!used.has(p)) errors.push({ field: `weights.${p}`, message: 'is not a path of the manifest' });
  if (!errors.length) errors.push(...nonFiniteWeights(modelJson.weightsManifest, Buffer.concat(parts)));
  const total = parts.reduce((n, b) => n + b.length, 0);
  if (total > MAX_USER_MODEL_BYTES) errors.push({ field: 'weights', message: `${total} bytes, over the limit of ${MAX_USER_MODEL_BYTES}` });
  if (errors.length) throw new ValidationError(errors);
  return { name, header: { modelTopology: topology, weightSpecs: specs }, weights: Buffer.concat(parts), params, inputShape: inputShape! };
}
