/**
 * Optional bearer-token authentication: with LOPPER_API_TOKEN set, every request but GET /health must carry
 * `Authorization: Bearer <token>` (the API starts sweeps that hold workers for hours, and deletes results). It runs as
 * the first middleware, before any body is read. Without the setting the API is open, as on a developer's machine.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether an Authorization header carries `token` (compared in constant time, whatever the lengths). */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]), digest(token));
}

/** Paths that answer without a token: liveness checks. */
const OPEN = new Set(['/health']);

export function bearerTokenMiddleware(token: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if ((req.method === 'GET' && OPEN.has(req.path)) || bearerTokenMatches(req.headers.authorization, token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="lopper"');
    res.status(401).json({
      statusCode: 401, error: 'Unauthorized',
      message: req.headers.authorization
        ? 'wrong bearer token (the API runs with LOPPER_API_TOKEN: send the same token)'
        : 'this API needs Authorization: Bearer <token> (it runs with LOPPER_API_TOKEN; the CLI sends LOPPER_API_TOKEN from its environment)',
    });
  };
}
