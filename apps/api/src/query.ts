/** Query-string parsing shared by the controllers. */

/** A list endpoint's `limit`: an integer in [1, 500], 50 when absent or not a number. */
export function pageLimit(raw: string | undefined): number {
  return raw === undefined ? 50 : Math.min(500, Math.max(1, Number.parseInt(raw, 10) || 50));
}
