import type { Request, Response } from 'express';
import { bearerTokenMatches, bearerTokenMiddleware } from './auth.js';
import { apiConfigFromEnv } from './config.js';

const TOKEN = '3f9a1c0d5e7b2a4c6e8f0a1b3c5d7e9f';
const BASE_ENV = { DATABASE_URL: 'postgresql://x', TEMPORAL_ADDRESS: 'localhost:7233' };

describe('bearerTokenMatches', () => {
  it('takes exactly the token, after "Bearer" in any case', () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`bearer  ${TOKEN} `, TOKEN)).toBe(true);
    for (const h of [undefined, '', TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN} extra`, 'Bearer ']) {
      expect([h, bearerTokenMatches(h, TOKEN)]).toEqual([h, false]);
    }
  });
});

describe('LOPPER_API_TOKEN', () => {
  it('is optional, and refused by name when short or with spaces', () => {
    expect(apiConfigFromEnv(BASE_ENV).apiToken).toBeUndefined();
    expect(apiConfigFromEnv({ ...BASE_ENV, LOPPER_API_TOKEN: TOKEN }).apiToken).toBe(TOKEN);
    for (const bad of ['short', 'sixteen chars ok', `${TOKEN}\n`]) {
      expect(() => apiConfigFromEnv({ ...BASE_ENV, LOPPER_API_TOKEN: bad })).toThrow(/LOPPER_API_TOKEN must be at least 16 printable characters without spaces/);
    }
  });
});

describe('bearerTokenMiddleware', () => {
  const run = (method: string, path: string, authorization?: string) => {
    const sent: { status?: number; body?: { message: string }; headers: Record<string, string>; next: boolean } = { headers: {}, next: false };
    const req = { method, path, headers: authorization === undefined ? {} : { authorization } } as unknown as Request;
    const res = {
      setHeader: (k: string, v: string) => { sent.headers[k] = v; },
      status: (s: number) => { sent.status = s; return { json: (b: { message: string }) => { sent.body = b; } }; },
    } as unknown as Response;
    bearerTokenMiddleware(TOKEN)(req, res, () => { sent.next = true; });
    return sent;
  };

  it('passes a request with the token, and GET /health without one', () => {
    expect(run('GET', '/sweeps', `Bearer ${TOKEN}`)).toEqual({ headers: {}, next: true });
    expect(run('GET', '/health')).toEqual({ headers: {}, next: true });
  });

  it('answers 401 with WWW-Authenticate and a message that says whether the header is missing or wrong', () => {
    const missing = run('POST', '/sweeps');
    expect([missing.next, missing.status, missing.headers]).toEqual([false, 401, { 'WWW-Authenticate': 'Bearer realm="lopper"' }]);
    expect(missing.body!.message).toMatch(/^this API needs Authorization: Bearer <token>/);
    expect(run('GET', '/docs', 'Bearer nope').body!.message).toMatch(/^wrong bearer token/);
    expect(run('POST', '/health').status).toBe(401);
  });
});
