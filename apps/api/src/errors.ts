/** Domain errors the API maps to HTTP statuses (errors.filter.ts). */

export interface FieldError { field: string; message: string }

/** Bad input: 400, naming each bad field. */
export class ValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/**
 * Throws unless a request body is a JSON object. Express leaves the body undefined when no parser took it (a content type
 * other than JSON), so that case says what to send.
 */
export function requireJsonObject(body: unknown): asserts body is Record<string, unknown> {
  if (body === undefined) throw new ValidationError([{ field: 'body', message: 'is required: a JSON object, sent with content-type: application/json' }]);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError([{ field: 'body', message: `must be a JSON object (got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body})` }]);
}

/** A zod issue, as much of it as the messages below read. */
export interface SchemaIssue { path: PropertyKey[]; message: string; code: string; keys?: string[]; expected?: string; origin?: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean }

/**
 * A zod schema's issues as field errors: the dotted path (`body` for the whole), unknown keys named, a missing field said so,
 * and zod's own wording of a wrong type or a bound ("Too small: expected number to be >=0") said the way the schemas' own
 * messages say it ("must be >= 0"); a message a schema gives is kept as it is.
 */
export function fieldErrors(issues: readonly SchemaIssue[]): FieldError[] {
  return issues.map((i) => ({ field: i.path.length ? i.path.map(String).join('.') : 'body', message: issueMessage(i) }));
}

const KINDS: Record<string, string> = { int: 'an integer', number: 'a number', string: 'a string', array: 'an array', object: 'an object', boolean: 'true or false' };

function issueMessage(i: SchemaIssue): string {
  if (i.code === 'unrecognized_keys') return `unknown field(s): ${(i.keys ?? []).join(', ')}`;
  if (i.code === 'invalid_type' && i.message.startsWith('Invalid input: expected ')) {
    const received = /, received (\w+)$/.exec(i.message)?.[1];
    const kind = KINDS[i.expected ?? ''] ?? i.expected ?? 'a value';
    if (received === 'undefined') return `is required (${i.expected === 'int' ? 'integer' : (i.expected ?? 'a value')})`;
    return `must be ${kind}${received ? ` (got ${received === 'number' && i.expected === 'int' ? 'a fraction' : received})` : ''}`;
  }
  const small = i.code === 'too_small' && i.message.startsWith('Too small: ');
  if (small || (i.code === 'too_big' && i.message.startsWith('Too big: '))) {
    const bound = small ? i.minimum : i.maximum;
    const op = small ? (i.inclusive ? '>=' : '>') : i.inclusive ? '<=' : '<';
    const n = Number(bound);
    if (i.origin === 'array' || i.origin === 'set') return `must hold ${small ? 'at least' : 'at most'} ${n} item${n === 1 ? '' : 's'}`;
    if (i.origin === 'string') return small && n === 1 ? 'must be a non-empty string' : `must be ${small ? 'at least' : 'at most'} ${n} character${n === 1 ? '' : 's'} long`;
    return `must be ${op} ${String(bound)}`;
  }
  return i.message;
}

/** An id that names nothing: 404. */
export class NotFound extends Error {}

/** A request that the resource's current state cannot answer (a trial's model before the trial is DONE): 409. */
export class Conflict extends Error {}
