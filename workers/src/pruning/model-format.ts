/**
 * Lopper's stored model format, without TensorFlow.js: gzip of [u32 LE header length][JSON header: topology + weight
 * specs][raw weights]. Raw float32 weights (not base64), so that pruned zeros compress: the gzip size is an honest size
 * metric. Pure Node (zlib only): the API packs uploaded user models with it, the worker's serialize.ts builds on it.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export interface WeightSpec { name: string; shape: number[]; dtype: string; [k: string]: unknown }
export interface ModelHeader { modelTopology: unknown; weightSpecs: WeightSpec[]; /** A user model's name, as uploaded. */ name?: string }

/** Uncompressed bytes of a model. */
export function packModelRaw(header: ModelHeader, weights: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([len, json, weights]);
}

/** The stored form of raw model bytes (also what the gzip-size metric measures). */
export function gzipModelBytes(raw: Uint8Array): Buffer {
  return gzipSync(raw, { level: 9 });
}

export function packModel(header: ModelHeader, weights: Uint8Array): Buffer {
  return gzipModelBytes(packModelRaw(header, weights));
}

export function unpackModel(bytes: Uint8Array): { header: ModelHeader; weights: ArrayBuffer } {
  const raw = gunzipSync(bytes);
  const len = raw.readUInt32LE(0);
  const header = JSON.parse(raw.subarray(4, 4 + len).toString('utf8')) as ModelHeader;
  const w = raw.subarray(4 + len);
  return { header, weights: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer };
}

/** The weight file a downloaded model's manifest names (TF.js's own `model.save('file://…')` writes the same name). */
export const TFJS_WEIGHTS_FILE = 'weights.bin';

/**
 * A stored model as TensorFlow.js's model.json (format `layers-model`, one weight group in TFJS_WEIGHTS_FILE): what
 * `tf.loadLayersModel` reads, and what POST /models takes back. `metadata` goes into `userDefinedMetadata`.
 */
export function tfjsModelJson(header: ModelHeader, metadata?: Record<string, unknown>): Record<string, unknown> {
  return {
    format: 'layers-model',
    generatedBy: 'Lopper',
    convertedBy: null,
    modelTopology: header.modelTopology,
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: header.weightSpecs }],
    ...(metadata ? { userDefinedMetadata: metadata } : {}),
  };
}
