/** Model zoo. Every model outputs logits (no softmax) so that losses and distillation can use them. */
import * as tfl from '@tensorflow/tfjs-layers';

export const MODEL_NAMES = ['mlp', 'lenet5'] as const;
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
    default:
      throw new RangeError(`unknown model "${name as string}"; expected one of ${MODEL_NAMES.join(', ')}`);
  }
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
