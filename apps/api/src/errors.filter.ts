/** Maps domain errors to HTTP: ValidationError and malformed JSON -> 400, NotFound -> 404, Conflict -> 409. */
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { Conflict, NotFound, ValidationError } from './errors.js';

@Catch()
export class ErrorsFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (err instanceof ValidationError) {
      res.status(400).json({ statusCode: 400, error: 'Bad Request', message: err.message, errors: err.errors });
      return;
    }
    if (err instanceof NotFound) {
      res.status(404).json({ statusCode: 404, error: 'Not Found', message: err.message });
      return;
    }
    if (err instanceof Conflict) {
      res.status(409).json({ statusCode: 409, error: 'Conflict', message: err.message });
      return;
    }
    // Nest's Express adapter wraps body-parser's errors in an HttpException; the parser's own error is its cause.
    const e = (err instanceof HttpException && err.cause ? err.cause : err) as { type?: string; status?: number; message?: string; length?: number; limit?: number };
    if (e?.type === 'entity.parse.failed') {
      res.status(400).json({ statusCode: 400, error: 'Bad Request', message: `body: is not valid JSON (${e.message})`, errors: [{ field: 'body', message: `is not valid JSON (${e.message})` }] });
      return;
    }
    if (e?.type === 'entity.too.large') {
      const why = e.limit !== undefined && e.length !== undefined ? `is ${e.length} bytes, over the limit of ${e.limit} bytes` : `is too large (${e.message})`;
      res.status(413).json({ statusCode: 413, error: 'Payload Too Large', message: `body: ${why}`, errors: [{ field: 'body', message: why }] });
      return;
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const body = err.getResponse();
      res.status(status).json(typeof body === 'string' ? { statusCode: status, message: body } : body);
      return;
    }
    console.error('[api] unhandled error', err);
    res.status(500).json({ statusCode: 500, error: 'Internal Server Error', message: (err as Error)?.message ?? String(err) });
  }
}
