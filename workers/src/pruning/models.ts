/** Model zoo. Every model outputs logits (no softmax) so that losses and distillation can use them. */
import type * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { unpackModel } from './model-format.js';

export const MODEL_NAMES = ['mlp', 'lenet5', 'vgg-small', 'resnet-small'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Keras momentum 0.9 = PyTorch's BatchNorm momentum 0.1: moving statistics settle within short trainings. */
const BN_MOMENTUM = 0.9;

export interface ModelInput { height: number; width: number; channels: number; classes: number }

export const FASHION_MNIST_INPUT: ModelInput = { height: 28, width: 28, channels: 1, classes: 10 };

/** Builds a freshly initialised model; `seed` makes the initial weights reproducible. */
export function buildModel(name: ModelName, seed: number, input: ModelInput = FASHION_MNIST_INPUT): tfl.LayersModel {
  let s = seed * 1000;
  const init = () => tfl.initializers.glorotUniform({ seed: s++ });
  switch (name) {
    case 'mlp':
      // LeNet-300-100 (Han et al. 2015): 784-300-100-10.
      return tfl.sequential({
        name: 'mlp',
        layers: [
          tfl.layers.flatten({ inputShape: [input.height, input.width, input.channels], name: 'flatten' }),
          tfl.layers.dense({ units: 300, activation: 'relu', kernelInitializer: init(), name: 'fc1' }),
          tfl.layers.dense({ units: 100, activation: 'relu', kernelInitializer: init(), name: 'fc2' }),
          tfl.layers.dense({ units: input.classes, kernelInitializer: init(), name: 'fc3' }),
        ],
      });
    case 'lenet5':
      // LeNet-5 with BatchNorm after each conv and hidden dense layer.
      return tfl.sequential({
        name: 'lenet5',
        layers: [
          tfl.layers.conv2d({ inputShape: [input.height, input.width, input.channels], filters: 6, kernelSize: 5, padding: 'same', useBias: false, kernelInitializer: init(), name: 'conv1' }),
          tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: 'bn1' }),
          tfl.layers.activation({ activation: 'relu', name: 'relu1' }),
          tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
          tfl.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'valid', useBias: false, kernelInitializer: init(), name: 'conv2' }),
          tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: 'bn2' }),
          tfl.layers.activation({ activation: 'relu', name: 'relu2' }),
          tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }),
          tfl.layers.flatten({ name: 'flatten' }),
          tfl.layers.dense({ units: 120, useBias: false, kernelInitializer: init(), name: 'fc1' }),
          tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: 'bn3' }),
          tfl.layers.activation({ activation: 'relu', name: 'relu3' }),
          tfl.layers.dense({ units: 84, useBias: false, kernelInitializer: init(), name: 'fc2' }),
          tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: 'bn4' }),
          tfl.layers.activation({ activation: 'relu', name: 'relu4' }),
          tfl.layers.dense({ units: input.classes, kernelInitializer: init(), name: 'fc3' }),
        ],
      });
    case 'vgg-small': {
      // VGG-style: three blocks of two 3x3 conv + BN + ReLU, max-pooled; then a small classifier.
      const layers: tfl.layers.Layer[] = [];
      const widths = [16, 16, 32, 32, 64, 64];
      widths.forEach((filters, i) => {
        layers.push(tfl.layers.conv2d({ ...(i === 0 ? { inputShape: [input.height, input.width, input.channels] } : {}), filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(), name: `conv${i + 1}` }));
        layers.push(tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: `bn${i + 1}` }));
        layers.push(tfl.layers.activation({ activation: 'relu', name: `relu${i + 1}` }));
        if (i % 2 === 1) layers.push(tfl.layers.maxPooling2d({ poolSize: 2, name: `pool${(i + 1) / 2}` }));
      });
      layers.push(tfl.layers.flatten({ name: 'flatten' }));
      layers.push(tfl.layers.dense({ units: 128, useBias: false, kernelInitializer: init(), name: 'fc1' }));
      layers.push(tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: 'bn_fc1' }));
      layers.push(tfl.layers.activation({ activation: 'relu', name: 'relu_fc1' }));
      layers.push(tfl.layers.dense({ units: input.classes, kernelInitializer: init(), name: 'fc2' }));
      return tfl.sequential({ name: 'vgg-small', layers });
    }
    case 'resnet-small': {
      // A stem and two residual stages (identity shortcut, then a 1x1 projection shortcut with stride 2).
      const x0 = tfl.input({ shape: [input.height, input.width, input.channels], name: 'input' });
      const convBn = (x: tfl.SymbolicTensor, filters: number, kernel: number, stride: number, name: string, relu = true) => {
        let y = tfl.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false, kernelInitializer: init(), name }).apply(x) as tfl.SymbolicTensor;
        y = tfl.layers.batchNormalization({ momentum: BN_MOMENTUM, name: `${name}_bn` }).apply(y) as tfl.SymbolicTensor;
        return relu ? (tfl.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(y) as tfl.SymbolicTensor) : y;
      };
      const block = (x: tfl.SymbolicTensor, filters: number, stride: number, name: string) => {
        const y = convBn(convBn(x, filters, 3, stride, `${name}_a`), filters, 3, 1, `${name}_b`, false);
        const shortcut = stride === 1 && (x.shape[3] === filters) ? x : convBn(x, filters, 1, stride, `${name}_proj`, false);
        const sum = tfl.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tfl.SymbolicTensor;
        return tfl.layers.activation({ activation: 'relu', name: `${name}_out` }).apply(sum) as tfl.SymbolicTensor;
      };
      let x = convBn(x0, 16, 3, 1, 'stem');
      x = block(x, 16, 1, 'res1');
      x = block(x, 32, 2, 'res2');
      x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tfl.SymbolicTensor;
      const out = tfl.layers.dense({ units: input.classes, kernelInitializer: init(), name: 'fc' }).apply(x) as tfl.SymbolicTensor;
      return tfl.model({ name: 'resnet-small', inputs: x0, outputs: out });
    }
    default:
      throw new RangeError(`unknown model "${name as string}"; expected one of ${MODEL_NAMES.join(', ')}`);
  }
}

/** Loads a user's own TensorFlow.js LayersModel (model.json plus its weight files) from a directory or URL. */
export async function loadUserModel(modelJsonPath: string): Promise<tfl.LayersModel> {
  const { readFile } = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  const tf = await import('@tensorflow/tfjs-core');
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tfc.io.WeightsManifestEntry[] }[] };
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(modelJsonPath), p))));
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

/**
 * An uploaded user model (Lopper's stored format, see model-format.ts) as a model that outputs logits, as Lopper's
 * training and distillation expect: a softmax on the output layer becomes linear (argmax, hence accuracy, is unchanged).
 * Checks that it takes `input` images and has `input.classes` outputs; throws a RangeError saying what is wrong.
 */
export async function loadUserModelBytes(bytes: Uint8Array, input: ModelInput = FASHION_MNIST_INPUT): Promise<{ model: tfl.LayersModel; notes: string[] }> {
  const tf = await import('@tensorflow/tfjs-core');
  const { header, weights } = unpackModel(bytes);
  const saved = JSON.parse(JSON.stringify(header.modelTopology)) as { model_config?: object };
  // Keras's saved form wraps the config in model_config (TF.js's loader accepts both).
  const topology = (saved.model_config ?? saved) as { class_name?: string; config?: { layers?: { class_name?: string; name?: string; config?: Record<string, unknown> }[]; output_layers?: [string, number, number][] } };
  const layers = topology.config?.layers ?? [];
  const outName = topology.class_name === 'Sequential' ? undefined : topology.config?.output_layers?.[0]?.[0];
  const out = outName === undefined ? layers.at(-1) : layers.find((l) => (l.config?.name ?? l.name) === outName);
  const notes: string[] = [];
  if (out?.config?.activation === 'softmax') {
    out.config.activation = 'linear';
    notes.push(`the softmax of output layer "${String(out.config.name ?? out.name)}" is dropped: Lopper trains on logits`);
  }
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs: header.weightSpecs as tfc.io.WeightsManifestEntry[], weightData: weights }));
  const [inShape, outShape] = [model.inputs, model.outputs].map((ts) => (ts.length === 1 ? ts[0].shape : null));
  const wantIn = [null, input.height, input.width, input.channels];
  const problem = !inShape || JSON.stringify(inShape) !== JSON.stringify(wantIn) ? `takes ${JSON.stringify(inShape ?? model.inputs.map((t) => t.shape))}, the data are ${JSON.stringify(wantIn)}`
    : !outShape || JSON.stringify(outShape) !== JSON.stringify([null, input.classes]) ? `outputs ${JSON.stringify(outShape ?? model.outputs.map((t) => t.shape))}, the data have ${input.classes} classes ([null,${input.classes}])`
      : null;
  if (problem) {
    model.dispose();
    throw new RangeError(`user model ${problem}`);
  }
  return { model, notes };
}

/** The weights that pruning acts on: conv and dense kernels (not biases or BatchNorm), like the tutorial's `weight`. */
export function prunableWeights(model: tfl.LayersModel): tfl.LayerVariable[] {
  const out: tfl.LayerVariable[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Dense' || cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      for (const w of layer.trainableWeights) if (/kernel$/.test(w.originalName) || /kernel$/.test(w.name)) out.push(w);
    }
  }
  return out;
}
