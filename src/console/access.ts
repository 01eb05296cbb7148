// Who may do what, per environment: a person's groups against the stack's `access` knob. Pure.
import { CONSOLE_ROLES, type AccessKnobs, type ConsoleRole } from "../config/index.ts";

/** A signed-in person: from the users file, or from the identity provider behind the ALB. */
export interface Principal {
  /** Shown in pages and recorded in the history and the audit log. */
  name: string;
  /** What names them for good: the user name here, the identity provider's `sub` behind the ALB. */
  subject: string;
  groups: readonly string[];
  /** How they signed in. */
  via: "password" | "alb";
}

/** The highest role any of the person's groups has in the environment; undefined: none, the environment is not shown. */
export function roleIn(access: AccessKnobs, groups: readonly string[]): ConsoleRole | undefined {
  for (const role of [...CONSOLE_ROLES].reverse()) if (access[role].some((g) => groups.includes(g))) return role;
  return undefined;
}

/** Whether `role` includes `needed`: admin includes deploy, deploy includes view. */
export function allows(role: ConsoleRole | undefined, needed: ConsoleRole): boolean {
  return role !== undefined && CONSOLE_ROLES.indexOf(role) >= CONSOLE_ROLES.indexOf(needed);
}

/** Every action of the console and the role it needs in its environment. */
export const ACTION_ROLES = {
  release: "deploy",
  rollback: "deploy",
  "lock-take": "deploy",
  "lock-give-back": "deploy",
  "lock-give-back-any": "admin",
  "lock-break": "admin",
  "maintenance-on": "deploy",
  "maintenance-off": "deploy",
  "qa-up": "deploy",
  "qa-extend": "deploy",
  "qa-down": "deploy",
} as const satisfies Record<string, ConsoleRole>;
export type ConsoleAction = keyof typeof ACTION_ROLES;

/** How the history and the locks name a person who acted through the console. */
export function consoleWho(who: Pick<Principal, "name">): string {
  return `${who.name} (console)`;
}
