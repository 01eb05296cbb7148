// The roles a host plays: every layer names hosts by them, so they sit apart from the plan.
export type Role = "web" | "worker";

export const ROLES: readonly Role[] = ["web", "worker"];
