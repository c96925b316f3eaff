import { ByteLru } from './byte-lru.js';

const bytes = (n: number) => new Uint8Array(n);

describe('ByteLru', () => {
  it('keeps entries while they fit, and drops the least recently used past the bound', () => {
    const c = new ByteLru<Uint8Array>(10);
    c.set('a', bytes(4));
    c.set('b', bytes(4));
    expect(c.get('a')?.byteLength).toBe(4); // a is now the most recently used
    c.set('c', bytes(4)); // 12 > 10: b goes, not a
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
    expect(c.bytes).toBe(8);
    expect(c.size).toBe(2);
  });

  it('always keeps the newest entry, even one larger than the bound', () => {
    const c = new ByteLru<Uint8Array>(10);
    c.set('a', bytes(3));
    c.set('big', bytes(25));
    expect(c.size).toBe(1);
    expect(c.get('big')?.byteLength).toBe(25);
    expect(c.bytes).toBe(25);
  });

  it('replacing a key counts its new size only', () => {
    const c = new ByteLru<Uint8Array>(10);
    c.set('a', bytes(6));
    c.set('a', bytes(2));
    c.set('b', bytes(8));
    expect(c.bytes).toBe(10);
    expect(c.size).toBe(2);
  });

  it('rejects a bound that is not a number >= 0', () => {
    expect(() => new ByteLru(Number.NaN)).toThrow(/maxBytes must be >= 0/);
    expect(() => new ByteLru(-1)).toThrow(/maxBytes must be >= 0/);
  });
});
