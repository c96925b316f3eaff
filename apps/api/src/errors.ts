/** Domain errors the API maps to HTTP statuses (errors.filter.ts). */

/** Bad input: 400, naming each bad field. */
export class ValidationError extends Error {
  constructor(readonly errors: { field: string; message: string }[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** An id that names nothing: 404. */
export class NotFound extends Error {}

/** A request that the resource's current state cannot answer (a trial's model before the trial is DONE): 409. */
export class Conflict extends Error {}
