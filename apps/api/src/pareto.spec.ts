import { dominates, paretoFront } from './pareto.js';

const pts = (xs: [string, number, number][]) => xs.map(([id, a, c]) => ({ id, objectives: [a, c] }));

describe('paretoFront', () => {
  it('keeps exactly the nondominated points and says who beats each other point', () => {
    const p = pts([['a', 0.9, 0.5], ['b', 0.85, 0.8], ['c', 0.8, 0.8], ['d', 0.7, 0.9], ['e', 0.6, 0.4]]);
    const { front, dominated } = paretoFront(p);
    expect(front.map((x) => x.id).sort()).toEqual(['a', 'b', 'd']);
    expect(Object.fromEntries(dominated.map((d) => [d.point.id, d.dominatedBy.sort()]))).toEqual({ c: ['b'], e: ['a', 'b', 'd'] });
  });

  it('treats equal points as not dominating each other', () => {
    const { front } = paretoFront(pts([['a', 0.9, 0.5], ['b', 0.9, 0.5]]));
    expect(front.map((x) => x.id)).toEqual(['a', 'b']);
  });

  it('matches a brute-force check on random points', () => {
    let s = 7;
    const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const p = Array.from({ length: 60 }, (_, i) => ({ id: String(i), objectives: [Math.round(rand() * 20) / 20, Math.round(rand() * 20) / 20] }));
    const { front, dominated } = paretoFront(p);
    for (const x of p) {
      const beaten = p.some((y) => y.objectives[0] >= x.objectives[0] && y.objectives[1] >= x.objectives[1] && (y.objectives[0] > x.objectives[0] || y.objectives[1] > x.objectives[1]));
      expect(front.includes(x)).toBe(!beaten);
    }
    for (const d of dominated) {
      expect(d.dominatedBy.length).toBeGreaterThan(0);
      for (const id of d.dominatedBy) expect(dominates(p[Number(id)].objectives, d.point.objectives)).toBe(true);
    }
  });

  it('handles the empty set', () => {
    expect(paretoFront([])).toEqual({ front: [], dominated: [] });
  });
});
