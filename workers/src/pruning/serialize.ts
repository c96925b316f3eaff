/**
 * Model <-> bytes: gzip of [u32 header length][JSON header: topology + weight specs][raw weights].
 * Raw float32 weights (not base64) so that pruned zeros compress: the gzip size is an honest size metric.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { gunzipSync, gzipSync } from 'node:zlib';

interface Header { modelTopology: unknown; weightSpecs: tf.io.WeightsManifestEntry[] }

/** Uncompressed serialized model (topology + weights). */
export async function serializeModelRaw(model: tfl.LayersModel): Promise<Buffer> {
  let out: Buffer | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]);
      const header = Buffer.from(JSON.stringify({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs! } satisfies Header));
      const len = Buffer.alloc(4);
      len.writeUInt32LE(header.length);
      out = Buffer.concat([len, header, Buffer.from(data)]);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** The stored form of serialized model bytes (also what the gzip-size metric measures). */
export function gzipModelBytes(raw: Buffer): Buffer {
  return gzipSync(raw, { level: 9 });
}

export async function serializeModel(model: tfl.LayersModel): Promise<Buffer> {
  return gzipModelBytes(await serializeModelRaw(model));
}

export async function deserializeModel(bytes: Uint8Array): Promise<tfl.LayersModel> {
  const raw = gunzipSync(bytes);
  const len = raw.readUInt32LE(0);
  const header = JSON.parse(raw.subarray(4, 4 + len).toString('utf8')) as Header;
  const weights = raw.subarray(4 + len);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: header.modelTopology as object, weightSpecs: header.weightSpecs, weightData }));
}
