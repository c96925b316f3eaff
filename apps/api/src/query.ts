/** Query-string parsing shared by the controllers: a bad value is a 400 naming the parameter, never silently replaced. */
import { ValidationError } from './errors.js';

/** One query parameter as a string (Express may give an array for a repeated one), undefined when absent. */
export function queryValue(q: Record<string, unknown>, key: string): string | undefined {
  return q[key] === undefined ? undefined : String(q[key]);
}

/** An optional integer query parameter in [min, max]; `fallback` when absent. */
export function intParam(field: string, raw: string | undefined, min: number, max: number, fallback: number): number;
export function intParam(field: string, raw: string | undefined, min: number, max: number): number | undefined;
export function intParam(field: string, raw: string | undefined, min: number, max: number, fallback?: number): number | undefined {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ValidationError([{ field, message: `must be an integer in [${min}, ${max}] (got "${raw}")` }]);
  return n;
}

/** A list endpoint's `limit`: an integer in [1, 500], 50 when absent. */
export function pageLimit(raw: string | undefined): number {
  return intParam('limit', raw, 1, 500, 50);
}

/** An optional query parameter that must be one of `allowed`. */
export function enumParam<T extends string>(field: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new ValidationError([{ field, message: `must be one of ${allowed.join(', ')} (got "${raw}")` }]);
  return raw as T;
}

/** Refuses query parameters other than `allowed`, naming each. */
export function onlyParams(q: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(q).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new ValidationError(unknown.map((field) => ({ field, message: `unknown query parameter (${allowed.join(', ')})` })));
}
