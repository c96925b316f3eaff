/** PyTorch's `amount` semantics (torch/nn/utils/prune.py: _compute_nparams_toprune, _validate_pruning_amount). */

/** Python 3 `round(x)`: round half to even. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Number of entries (or channels) to prune. An integer is an absolute count in [0, size];
 * a non-integer-typed fraction is in [0, 1] and becomes round(amount * size) with round-half-even.
 * `isCount` distinguishes PyTorch's int from float (JS has one number type): pass `{ count: n }` for a count.
 */
export type Amount = number | { count: number };

export function computeCount(amount: Amount, size: number): number {
  if (typeof amount === 'object') {
    const c = amount.count;
    if (!Number.isInteger(c) || c < 0) throw new RangeError(`amount.count must be a non-negative integer, got ${c}`);
    if (c > size) throw new RangeError(`amount.count=${c} exceeds the number of units to prune (${size})`);
    return c;
  }
  if (!Number.isFinite(amount) || amount < 0 || amount > 1) {
    throw new RangeError(`amount must be a fraction in [0, 1], got ${amount}`);
  }
  return roundHalfEven(amount * size);
}
