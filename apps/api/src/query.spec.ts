import { enumParam, intParam, pageLimit } from './query.js';
import type { ValidationError } from './errors.js';

const refused = (f: () => unknown) => {
  try { f(); } catch (e) { return (e as ValidationError).errors; }
  throw new Error('expected a ValidationError');
};

describe('query parameters', () => {
  it('limit: 50 when absent, the integer given within [1, 500], a 400 naming it otherwise', () => {
    expect(pageLimit(undefined)).toBe(50);
    expect(pageLimit('1')).toBe(1);
    expect(pageLimit('500')).toBe(500);
    for (const raw of ['0', '501', 'abc', '', '2.5', '-3', '1e2', ' 7']) {
      expect(refused(() => pageLimit(raw))).toEqual([{ field: 'limit', message: `must be an integer in [1, 500] (got "${raw}")` }]);
    }
  });
  it('integer parameters without a default stay absent', () => {
    expect(intParam('offset', undefined, 0, 10)).toBeUndefined();
    expect(intParam('offset', '0', 0, 10)).toBe(0);
    expect(refused(() => intParam('offset', '11', 0, 10))[0].field).toBe('offset');
  });
  it('enumerated parameters take only their values', () => {
    expect(enumParam('status', undefined, ['DONE', 'FAILED'])).toBeUndefined();
    expect(enumParam('status', 'DONE', ['DONE', 'FAILED'])).toBe('DONE');
    expect(refused(() => enumParam('status', 'done', ['DONE', 'FAILED']))).toEqual([{ field: 'status', message: 'must be one of DONE, FAILED (got "done")' }]);
  });
});
