/** API environment, validated once at start. */
export interface ApiConfig {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  port: number;
  host: string;
  /** Largest grid (trials) one sweep may have. */
  maxTrials: number;
  /** LOPPER_API_TOKEN: when set, requests need `Authorization: Bearer <it>` (auth.ts); at least 16 characters. */
  apiToken?: string;
}

export const API_CONFIG = Symbol('API_CONFIG');

export function apiConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const errors: string[] = [];
  const int = (name: string, dflt: number, min: number) => {
    const raw = env[name];
    const v = raw === undefined || raw === '' ? dflt : Number(raw);
    if (!Number.isInteger(v) || v < min) errors.push(`${name} must be an integer >= ${min}, got "${raw}"`);
    return v;
  };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS']) if (!env[k]) errors.push(`${k} is required`);
  const cfg: ApiConfig = {
    databaseUrl: env.DATABASE_URL ?? '',
    temporalAddress: env.TEMPORAL_ADDRESS ?? '',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    port: int('PORT', 3000, 0),
    host: env.HOST ?? '127.0.0.1',
    maxTrials: int('LOPPER_MAX_TRIALS', 10_000, 1),
    ...(env.LOPPER_API_TOKEN ? { apiToken: env.LOPPER_API_TOKEN } : {}),
  };
  if (cfg.apiToken !== undefined && !/^[\x21-\x7e]{16,}$/.test(cfg.apiToken)) {
    errors.push('LOPPER_API_TOKEN must be at least 16 printable characters without spaces (openssl rand -hex 32 makes one)');
  }
  if (errors.length) throw new Error(`api: bad environment:\n  ${errors.join('\n  ')}`);
  return cfg;
}
