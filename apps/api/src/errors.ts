/** Domain errors the API maps to HTTP statuses (errors.filter.ts); ValidationError (400) lives with the DTOs. */

/** An id that names nothing: 404. */
export class NotFound extends Error {}
