/**
 * LOPPER_API_TOKEN on the real API process: every route but GET /health needs the bearer token; the CLI sends it from
 * its environment, and the check comes before any body is read. (Without the setting, as everywhere else in these tests,
 * the API is open.)
 */
import { spawnSync } from 'node:child_process';
import { ApiError, LopperApi } from '../apps/cli/src/api-client.js';
import { startProcess, type Proc } from '../deploy/processes.js';

const TOKEN = 'e3b0c44298fc1c149afbf4c8996fb924';
let proc: Proc;
let url: string;

beforeAll(async () => {
  const env = { DATABASE_URL: process.env.DATABASE_URL!, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, PORT: '0', LOPPER_API_TOKEN: TOKEN };
  const p = await startProcess('apps/api/src/main.ts', env, /listening on (http:\/\/\S+)/);
  proc = p;
  url = p.match[1];
}, 120_000);

afterAll(async () => { await proc?.stop(); });

const cli = (args: string[], token?: string) => spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', '--api', url, ...args], {
  encoding: 'utf8', env: { ...process.env, LOPPER_API_TOKEN: token ?? '' },
});

describe('the API with LOPPER_API_TOKEN set', () => {
  it('answers GET /health without the token', async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('refuses a request without the token or with a wrong one: 401, a JSON body that says why, WWW-Authenticate', async () => {
    for (const [headers, message] of [[{}, /^this API needs Authorization: Bearer <token>/], [{ authorization: 'Bearer nope' }, /^wrong bearer token/]] as const) {
      for (const [method, path] of [['GET', '/sweeps'], ['GET', '/docs'], ['DELETE', '/sweeps/sw-x'], ['POST', '/sweeps']]) {
        const res = await fetch(`${url}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
        expect([method, path, res.status, res.headers.get('www-authenticate')]).toEqual([method, path, 401, 'Bearer realm="lopper"']);
        expect(((await res.json()) as { message: string }).message).toMatch(message);
      }
    }
  });

  it('checks the token before reading a body: malformed JSON without the token is a 401, not a 400', async () => {
    const res = await fetch(`${url}/sweeps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": ' });
    expect(res.status).toBe(401);
    const authed = await fetch(`${url}/sweeps`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{"name": ' });
    expect(authed.status).toBe(400);
  });

  it('serves a client that sends it; the POST validation runs only after authentication', async () => {
    const api = new LopperApi(url, TOKEN);
    expect(Array.isArray(await api.sweeps({ limit: 1 }))).toBe(true);
    const bad = (await api.submit({ name: 'x' }).catch((e: unknown) => e)) as ApiError;
    expect(bad.status).toBe(400); // past the guard: the body's fields are what is wrong
    const anonymous = (await new LopperApi(url, undefined).sweeps().catch((e: unknown) => e)) as ApiError;
    expect([anonymous.status, anonymous.message]).toEqual([401, expect.stringMatching(/LOPPER_API_TOKEN/)]);
  });

  it('the CLI sends LOPPER_API_TOKEN from its environment, and says what to set when it is missing', () => {
    const ok = cli(['sweep', 'list', '--limit', '1'], TOKEN);
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    const no = cli(['sweep', 'list']);
    expect(no.status).toBe(1);
    expect(no.stderr).toMatch(/^error \(HTTP 401\):\nthis API needs Authorization: Bearer <token> \(it runs with LOPPER_API_TOKEN; the CLI sends LOPPER_API_TOKEN from its environment\)/);
  });
});
