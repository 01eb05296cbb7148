// The knobs of the deploy console and its daily mail: who may do what in an environment (by
// group), and where the environment's traceback digest goes, when. Per stack: production is
// stricter than dev, and a QA branch takes the `qa` template's.
import { z } from "zod";

/** A group as a users file or an identity provider names it: compared, never a path or argv. */
export const GroupName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._@+:=-]{0,126}[A-Za-z0-9]$|^[A-Za-z0-9]$/, "must be a group name: letters, digits, and . _ @ + : = - or inner spaces, at most 128 characters");

const Groups = z
  .array(GroupName)
  .superRefine((groups, ctx) => {
    const twice = groups.filter((g, i) => groups.indexOf(g) !== i);
    if (twice.length > 0) ctx.addIssue({ code: "custom", message: `lists ${[...new Set(twice)].map((g) => `"${g}"`).join(", ")} more than once` });
  })
  .default([]);

/** The console's three roles, each including the ones before it, as the AccessRoles component's viewer, deployer and admin. */
export const CONSOLE_ROLES = ["view", "deploy", "admin"] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

export const AccessKnobsSchema = z
  .strictObject({
    view: Groups.describe("Groups who see the environment: releases, history with output, health, locks, tracebacks; never a secret's value."),
    deploy: Groups.describe("Groups who also release, roll back, take and give back the deploy lock, switch maintenance, and make, extend or tear down QA environments."),
    admin: Groups.describe("Groups who also break a lock another holds."),
  })
  .describe("Who may do what in this environment's deploy console (fawkes console), by group: the users file's groups locally, the identity provider's behind the ALB.");
export type AccessKnobs = z.infer<typeof AccessKnobsSchema>;
export const DEFAULT_ACCESS: AccessKnobs = { view: [], deploy: [], admin: ["admins"] };

const HourMinute = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a time of day in UTC, "HH:MM", like "07:00"');

export const ErrorMailKnobsSchema = z
  .strictObject({
    to: z.array(z.email("must be an email address")).default([]).describe("Who gets the digest; none: no mail is sent."),
    from: z.email("must be an email address").optional().describe("The sender (on AWS an SES-verified identity); default fawkes@<the stack's domain>."),
    at: HourMinute.default("07:00").describe("When the daily digest is sent, UTC; it covers the 24 hours before."),
    top: z.number().int().min(1).max(100).default(20).describe("Tracebacks per app in each mail."),
  })
  .describe("The daily mail of the environment's top tracebacks per app: by SMTP from this machine, by Amazon SES on AWS.");
export type ErrorMailKnobs = z.infer<typeof ErrorMailKnobsSchema>;
