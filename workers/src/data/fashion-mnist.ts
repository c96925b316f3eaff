/** Fashion-MNIST from IDX gz files (Debian's dataset-fashion-mnist, or FASHION_MNIST_DIR). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { seededPermutation } from '../pruning/rng.js';
import type { Dataset } from '../pruning/train.js';

export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export function fashionMnistDir(): string {
  return process.env.FASHION_MNIST_DIR || DEFAULT_FASHION_MNIST_DIR;
}

function readIdx(path: string, expectMagic: number): { dims: number[]; data: Uint8Array } {
  if (!existsSync(path)) {
    throw new Error(`Fashion-MNIST file not found: ${path}. Install Debian's dataset-fashion-mnist or set FASHION_MNIST_DIR.`);
  }
  const raw = path.endsWith('.gz') ? gunzipSync(readFileSync(path)) : readFileSync(path);
  const magic = raw.readUInt32BE(0);
  if (magic !== expectMagic) throw new Error(`${path}: bad IDX magic ${magic.toString(16)}`);
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + 4 + 4 * nd, dims.reduce((a, b) => a * b, 1)) };
}

const cache = new Map<string, Dataset>();

/** The full split, pixels scaled to [0, 1]. Cached per process. */
export function loadSplit(split: 'train' | 'test', dir = fashionMnistDir()): Dataset {
  const key = `${dir}:${split}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgs = readIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`), 0x803);
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`), 0x801);
  const count = imgs.dims[0];
  if (labels.dims[0] !== count) throw new Error(`${split}: ${count} images but ${labels.dims[0]} labels`);
  const images = new Float32Array(imgs.data.length);
  for (let i = 0; i < images.length; i++) images[i] = imgs.data[i] / 255;
  const ds: Dataset = { images, labels: Uint8Array.from(labels.data), count, shape: [imgs.dims[1], imgs.dims[2], 1], classes: 10 };
  cache.set(key, ds);
  return ds;
}

/** A deterministic subset of `size` examples chosen by `seed` (the whole split when size is undefined). */
export function subset(data: Dataset, size: number | undefined, seed: number): Dataset {
  if (size === undefined || size >= data.count) return data;
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`subset size must be a positive integer, got ${size}`);
  const px = data.shape[0] * data.shape[1] * data.shape[2];
  const perm = seededPermutation(data.count, seed);
  const images = new Float32Array(size * px);
  const labels = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const j = perm[i];
    images.set(data.images.subarray(j * px, (j + 1) * px), i * px);
    labels[i] = data.labels[j];
  }
  return { images, labels, count: size, shape: data.shape, classes: data.classes };
}
