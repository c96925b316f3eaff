/** Domain errors the API maps to HTTP statuses (errors.filter.ts). */

export interface FieldError { field: string; message: string }

/** Bad input: 400, naming each bad field. */
export class ValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** A zod schema's issues as field errors: the dotted path (`body` for the whole), unknown keys named, a missing field said so. */
export function fieldErrors(issues: readonly { path: PropertyKey[]; message: string; code: string; keys?: string[]; expected?: string }[]): FieldError[] {
  return issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join('.') : 'body',
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${(i.keys ?? []).join(', ')}`
      : i.code === 'invalid_type' && i.message.endsWith(', received undefined') ? `is required (${i.expected ?? 'a value'})`
      : i.message,
  }));
}

/** An id that names nothing: 404. */
export class NotFound extends Error {}

/** A request that the resource's current state cannot answer (a trial's model before the trial is DONE): 409. */
export class Conflict extends Error {}
