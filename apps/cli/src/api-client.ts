/** Typed HTTP client for the sweep API (used by the CLI and `npm run up`). */
import type { UserModelView } from '../../api/src/models/models.dto.js';
import type { Comparison, SweepSummary } from '../../api/src/summary.js';
import type { SweepProgressView } from '../../api/src/progress.js';
import type { ScheduleView } from '../../api/src/schedules/schedules.dto.js';
import type { ParetoView, SweepPlanView, SweepView, TrialModelView, TrialView } from '../../api/src/sweeps/sweeps.dto.js';

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: { message?: string; errors?: { field: string; message: string }[] }) {
    super(body.errors?.length ? body.errors.map((e) => `${e.field}: ${e.message}`).join('\n') : (body.message ?? `HTTP ${status}`));
  }
}

/** `?k=v&…` of the defined entries, or '' when none. */
function queryString(query: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return qs ? `?${qs}` : '';
}

export class LopperApi {
  /** `token`: the API's LOPPER_API_TOKEN (sent as a bearer token), from this process's environment by default. */
  constructor(readonly baseUrl: string = process.env.LOPPER_API_URL ?? 'http://127.0.0.1:3000', private readonly token: string | undefined = process.env.LOPPER_API_TOKEN || undefined) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new Error(`cannot reach the Lopper API at ${this.baseUrl} (${(e as Error).message}); set LOPPER_API_URL or start it with npm run up`);
    }
    const text = await res.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new ApiError(res.status, data ?? {});
    return data as T;
  }

  submit(spec: unknown) { return this.call<{ id: string; totalTrials: number }>('POST', '/sweeps', spec); }
  validateSweep(spec: unknown) { return this.call<SweepPlanView>('POST', '/sweeps/validate', spec); }
  uploadModel(body: unknown) { return this.call<UserModelView>('POST', '/models', body); }
  models() { return this.call<UserModelView[]>('GET', '/models'); }
  model(id: string) { return this.call<UserModelView>('GET', `/models/${encodeURIComponent(id)}`); }
  deleteModel(id: string) { return this.call<{ id: string; deleted: boolean; freedBytes: number }>('DELETE', `/models/${encodeURIComponent(id)}`); }
  sweep(id: string) { return this.call<SweepView>('GET', `/sweeps/${encodeURIComponent(id)}`); }
  /** Sweeps, newest first: `limit` (50) at a time, `before` the previous page's last id, filtered by `tag` (a schedule's: schedule:<id>) or `status`. */
  sweeps(query: { limit?: number | string; tag?: string; status?: string; before?: string } = {}) { return this.call<SweepView[]>('GET', `/sweeps${queryString(query)}`); }
  /** The sweep's trials (model, seed, method, amount, fine-tuning order); `query` filters by status, method, model or fine-tuning setting and pages with limit/offset. */
  trials(id: string, query: { status?: string; method?: string; model?: string; finetune?: string; limit?: number; offset?: number } = {}) {
    return this.call<TrialView[]>('GET', `/sweeps/${encodeURIComponent(id)}/trials${queryString(query)}`);
  }
  trial(id: string) { return this.call<TrialView>('GET', `/trials/${encodeURIComponent(id)}`); }
  trialModel(id: string) { return this.call<TrialModelView>('GET', `/trials/${encodeURIComponent(id)}/model`); }
  compare(ids: string[]) { return this.call<Comparison>('GET', `/compare${queryString({ sweeps: ids.join(',') })}`); }
  /** The trials and baselines being computed now (phase, epoch, batch of batches, attempt). */
  progress(id: string) { return this.call<SweepProgressView>('GET', `/sweeps/${encodeURIComponent(id)}/progress`); }
  summary(id: string) { return this.call<SweepSummary>('GET', `/sweeps/${encodeURIComponent(id)}/summary`); }
  /** The front of accuracy against `objective` (compression, nonzero-params, gzip-size or speedup; default compression). */
  pareto(id: string, objective?: string) { return this.call<ParetoView>('GET', `/sweeps/${encodeURIComponent(id)}/pareto${queryString({ objective })}`); }
  deleteSweep(id: string) { return this.call<{ id: string; deleted: true; trials: number; freedArtifacts: number; freedBytes: number }>('DELETE', `/sweeps/${encodeURIComponent(id)}`); }
  resume(id: string) { return this.call<{ id: string; resumedTrials: number; status: string }>('POST', `/sweeps/${encodeURIComponent(id)}/resume`); }
  createSchedule(body: unknown) { return this.call<ScheduleView>('POST', '/schedules', body); }
  schedules() { return this.call<ScheduleView[]>('GET', '/schedules'); }
  schedule(id: string) { return this.call<ScheduleView>('GET', `/schedules/${encodeURIComponent(id)}`); }
  deleteSchedule(id: string) { return this.call<{ id: string; deleted: true }>('DELETE', `/schedules/${encodeURIComponent(id)}`); }
  triggerSchedule(id: string) { return this.call<{ id: string; triggered: true; sweepTag: string }>('POST', `/schedules/${encodeURIComponent(id)}/trigger`); }
  pauseSchedule(id: string, paused: boolean) { return this.call<ScheduleView>('POST', `/schedules/${encodeURIComponent(id)}/${paused ? 'pause' : 'unpause'}`); }
  cancel(id: string) { return this.call<{ cancelled: boolean; status: string }>('POST', `/sweeps/${encodeURIComponent(id)}/cancel`); }
}
