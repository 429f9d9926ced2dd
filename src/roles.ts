/** What a process runs: the API and workers together, or one of them, to scale each on its own. */
export const ROLES = ['all', 'worker', 'api'] as const;
export type Role = (typeof ROLES)[number];
