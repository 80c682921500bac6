/** Where Redis pools publish their budgets for `lifeguard doctor`'s fleet view (no driver import: the CLI reads it too). */

/** The hash: field `<app>:<pool>:<pid>` → `"<max> <epoch s>"`. */
export const BUDGET_KEY = 'lifeguard:budgets';
/** How often a pool refreshes its entry, ms. */
export const BUDGET_REFRESH_MS = 30_000;
/** The hash expires this long after the last refresh of any pool, s. */
export const BUDGET_TTL_S = 120;
/** Entries not refreshed for this long are dropped by the next pool that starts, s. */
export const BUDGET_STALE_S = 300;
