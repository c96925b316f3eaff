/** PyTorch <-> TensorFlow.js weight layouts. conv2d: torch [out, in, kh, kw] <-> tfjs [kh, kw, in, out]; dense: torch [out, in] <-> tfjs [in, out]. */

/** out[axis i] = in[axis perm[i]] (like numpy.transpose). */
export function transpose(data: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < idx.length; i++) src += idx[i] * inStrides[perm[i]];
    out[o] = data[src];
    for (let i = idx.length - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return { data: out, shape: outShape };
}

export const TORCH_TO_TFJS = { conv2d: [2, 3, 1, 0], dense: [1, 0] } as const;
export const TFJS_TO_TORCH = { conv2d: [3, 2, 0, 1], dense: [1, 0] } as const;
/** Where a torch dim lands in the tfjs layout. */
export const TORCH_DIM_TO_TFJS_AXIS = { conv2d: [3, 2, 0, 1], dense: [1, 0] } as const;
