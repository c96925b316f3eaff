/**
 * A least-recently-used cache bounded by bytes: a long-running worker keeps the baselines it used last, not every
 * baseline of every sweep it ever ran. Past `maxBytes` the least recently used entries go; the newest always stays.
 */
export class ByteLru<V extends { byteLength: number }> {
  private readonly entries = new Map<string, V>(); // insertion order = use order, oldest first
  private held = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new Error(`ByteLru: maxBytes must be >= 0, got ${maxBytes}`);
  }

  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) { this.entries.delete(key); this.entries.set(key, v); }
    return v;
  }

  set(key: string, value: V): void {
    const old = this.entries.get(key);
    if (old !== undefined) { this.entries.delete(key); this.held -= old.byteLength; }
    this.entries.set(key, value);
    this.held += value.byteLength;
    for (const [k, v] of this.entries) {
      if (this.held <= this.maxBytes || k === key) break;
      this.entries.delete(k);
      this.held -= v.byteLength;
    }
  }

  get size(): number { return this.entries.size; }
  get bytes(): number { return this.held; }
}
