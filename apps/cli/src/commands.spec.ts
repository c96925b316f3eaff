import { listSweeps } from './commands.js';
import type { LopperApi } from './api-client.js';
import type { SweepView } from '../../api/src/sweeps/sweeps.dto.js';

const sweep = (id: string): SweepView => ({
  id, name: id, model: 'mlp', models: ['mlp'], dataset: 'fashion-mnist', status: 'COMPLETED', tags: [], totalTrials: 1, baselines: [],
  counts: { pending: 0, running: 0, done: 1, failed: 0 }, baselineAccuracy: 0.9, baselineParams: 1, error: null,
  createdAt: '2026-11-29T00:00:00.000Z', finishedAt: null, spec: {} as SweepView['spec'],
});

describe('lopper sweep list', () => {
  const run = async (pages: SweepView[][], query: { tag?: string; status?: string; limit?: string; before?: string }) => {
    const asked: object[] = [];
    const api = { sweeps: async (q: object) => { asked.push(q); return pages[asked.length - 1]; } } as unknown as LopperApi;
    const out: string[] = [];
    await listSweeps(api, query, (l) => out.push(l));
    return { asked, out };
  };

  it('passes the filters through and, when the page is full, prints the command for the next one', async () => {
    const { asked, out } = await run([[sweep('sw-a'), sweep('sw-b')]], { tag: 'nightly', status: 'COMPLETED', limit: '2' });
    expect(asked).toEqual([{ tag: 'nightly', status: 'COMPLETED', limit: '2' }]);
    expect(out[out.length - 1]).toBe('more: lopper sweep list --tag nightly --status COMPLETED --limit 2 --before sw-b');
  });

  it('prints no next-page hint for a short page, and says when there is nothing', async () => {
    expect((await run([[sweep('sw-a')]], { limit: '50' })).out.join('\n')).not.toContain('more:');
    expect((await run([[]], { limit: '50' })).out).toEqual(['(no sweeps)']);
    expect((await run([[]], { limit: '50', before: 'sw-z' })).out).toEqual(['(no more sweeps)']);
  });
});
