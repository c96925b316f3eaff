/** The bookkeeping subset of a worker's activities: what the worker that runs the workflows registers beside them. */
import { BOOKKEEPING_ACTIVITIES, type BookkeepingActivities, type LopperActivities } from '../../workflows/src/activity-types.js';

export function bookkeepingOf(acts: LopperActivities): BookkeepingActivities {
  return Object.fromEntries(BOOKKEEPING_ACTIVITIES.map((name) => [name, acts[name]])) as unknown as BookkeepingActivities;
}
