import { paretoTable, progressLine, table } from './format.js';
import type { SweepView } from '../../api/src/sweeps/sweeps.dto.js';

const sweep = (over: Partial<SweepView>): SweepView => ({
  id: 's', name: 'n', model: 'mlp', dataset: 'fashion-mnist', status: 'RUNNING', tags: [], totalTrials: 4,
  counts: { pending: 1, running: 1, done: 1, failed: 1 }, baselineAccuracy: 0.8512, baselineParams: 1, error: null,
  createdAt: '', finishedAt: null, spec: {} as SweepView['spec'], ...over,
});

describe('CLI formatting', () => {
  it('draws the progress bar from finished (done + failed) trials', () => {
    expect(progressLine(sweep({}), 10)).toBe('[#####-----] 2/4 trials (1 running, 1 failed) baseline 85.12% RUNNING');
    expect(progressLine(sweep({ baselineAccuracy: null, counts: { pending: 4, running: 0, done: 0, failed: 0 } }), 4)).toBe('[----] 0/4 trials (0 running, 0 failed) baseline training RUNNING');
  });
  it('aligns tables', () => {
    expect(table(['a', 'bb'], [['xyz', 1], ['q', 22]])).toBe('a    bb\n---  --\nxyz   1\nq    22');
  });
  it('prints the Pareto front', () => {
    const out = paretoTable({ sweepId: 's', objectives: { accuracy: 'max', compressionRate: 'max' }, dominated: [], front: [{ trialId: 't', method: 'l1-unstructured', amount: 0.5, seed: 1, accuracy: 0.8, compressionRate: 0.49 }] });
    expect(out).toContain('l1-unstructured');
    expect(out).toContain('80.00%');
    expect(out).toContain('49.00%');
    expect(paretoTable({ sweepId: 's', objectives: { accuracy: 'max', compressionRate: 'max' }, dominated: [], front: [] })).toBe('(no finished trials yet)');
  });
});
