import { z } from 'zod';
import { fieldErrors } from './errors.js';

const Schema = z
  .object({
    count: z.number().int().min(0).max(5),
    rate: z.number().gt(0).lt(1),
    tags: z.array(z.string().min(1).max(3)).min(1).max(2),
    name: z.string().max(4),
    flag: z.boolean(),
    named: z.number().min(2, 'must be 2 or more'),
  })
  .strict();
const errors = (v: unknown) => {
  const r = Schema.safeParse(v);
  return r.success ? [] : fieldErrors(r.error.issues);
};
const ok = { count: 1, rate: 0.5, tags: ['a'], name: 'n', flag: true, named: 2 };

describe('fieldErrors', () => {
  it('says bounds the way the schemas say them', () => {
    expect(errors({ ...ok, count: -1, rate: 0 })).toEqual([{ field: 'count', message: 'must be >= 0' }, { field: 'rate', message: 'must be > 0' }]);
    expect(errors({ ...ok, count: 6, rate: 1 })).toEqual([{ field: 'count', message: 'must be <= 5' }, { field: 'rate', message: 'must be < 1' }]);
    expect(errors({ ...ok, tags: [] })).toEqual([{ field: 'tags', message: 'must hold at least 1 item' }]);
    expect(errors({ ...ok, tags: ['a', 'b', 'c'] })).toEqual([{ field: 'tags', message: 'must hold at most 2 items' }]);
    expect(errors({ ...ok, tags: ['', 'abcd'] })).toEqual([{ field: 'tags.0', message: 'must be a non-empty string' }, { field: 'tags.1', message: 'must be at most 3 characters long' }]);
    expect(errors({ ...ok, name: 'abcde' })).toEqual([{ field: 'name', message: 'must be at most 4 characters long' }]);
  });

  it('names the wrong type and what came', () => {
    expect(errors({ ...ok, count: 1.5 })).toEqual([{ field: 'count', message: 'must be an integer (got a fraction)' }]);
    expect(errors({ ...ok, count: '1' })).toEqual([{ field: 'count', message: 'must be a number (got string)' }]);
    expect(errors({ ...ok, tags: 'a' })).toEqual([{ field: 'tags', message: 'must be an array (got string)' }]);
    expect(errors({ ...ok, flag: null })).toEqual([{ field: 'flag', message: 'must be true or false (got null)' }]);
    expect(errors([])).toEqual([{ field: 'body', message: 'must be an object (got array)' }]);
  });

  it('says a missing field is required, names unknown fields, keeps a schema message', () => {
    const { count: _, ...noCount } = ok;
    expect(errors(noCount)).toEqual([{ field: 'count', message: 'is required (number)' }]);
    expect(errors({ ...ok, extra: 1, more: 2 })).toEqual([{ field: 'body', message: 'unknown field(s): extra, more' }]);
    expect(errors({ ...ok, named: 1 })).toEqual([{ field: 'named', message: 'must be 2 or more' }]);
  });
});
