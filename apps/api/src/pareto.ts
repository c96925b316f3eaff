/** Pareto front over objectives that are all maximised. Pure. */
export interface Scored { id: string; objectives: number[] }

/** a dominates b: a is at least as good in every objective and strictly better in one. */
export function dominates(a: number[], b: number[]): boolean {
  let strictly = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return false;
    if (a[i] > b[i]) strictly = true;
  }
  return strictly;
}

/** Splits points into the nondominated front and the dominated rest, each with the front points that beat it. */
export function paretoFront<T extends Scored>(points: T[]): { front: T[]; dominated: { point: T; dominatedBy: string[] }[] } {
  const front: T[] = [];
  const dominated: { point: T; dominatedBy: string[] }[] = [];
  for (const p of points) {
    if (!points.some((q) => q !== p && dominates(q.objectives, p.objectives))) front.push(p);
  }
  for (const p of points) {
    if (front.includes(p)) continue;
    dominated.push({ point: p, dominatedBy: front.filter((q) => dominates(q.objectives, p.objectives)).map((q) => q.id) });
  }
  return { front, dominated };
}
