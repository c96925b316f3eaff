/**
 * LAMP importance (Lee, Park, Mo, Ahn, Shin: "Layer-adaptive sparsity for the magnitude-based pruning", ICLR 2021):
 * within one tensor, score(u) = w_u^2 / sum of w_v^2 over every entry v at least as large as u (in |w|, ties by
 * index). Scores are invariant to the tensor's scale, so one global threshold over them allocates sparsity across
 * layers without emptying small ones or layers whose scale BatchNorm makes arbitrary; each tensor's largest entry
 * scores 1 and always survives. Pruned (zero) entries score 0: pruning on LAMP composes like PyTorch's.
 */
export function lampScores(weights: ArrayLike<number>): Float32Array {
  const n = weights.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => Math.abs(weights[a]) - Math.abs(weights[b]) || a - b);
  const scores = new Float32Array(n);
  let suffix = 0;
  for (let k = n - 1; k >= 0; k--) {
    const sq = weights[order[k]] * weights[order[k]];
    suffix += sq;
    scores[order[k]] = suffix > 0 ? sq / suffix : 0;
  }
  return scores;
}
