/** Model <-> bytes in Lopper's stored format (model-format.ts), through TensorFlow.js's save and load handlers. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { gzipModelBytes, packModelRaw, unpackModel, type WeightSpec } from './model-format.js';

export { gzipModelBytes };

/** Uncompressed serialized model (topology + weights). */
export async function serializeModelRaw(model: tfl.LayersModel): Promise<Buffer> {
  let out: Buffer | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]);
      out = packModelRaw({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs! as WeightSpec[] }, new Uint8Array(data));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

export async function serializeModel(model: tfl.LayersModel): Promise<Buffer> {
  return gzipModelBytes(await serializeModelRaw(model));
}

export async function deserializeModel(bytes: Uint8Array): Promise<tfl.LayersModel> {
  const { header, weights } = unpackModel(bytes);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: header.modelTopology as object, weightSpecs: header.weightSpecs as tf.io.WeightsManifestEntry[], weightData: weights }));
}
