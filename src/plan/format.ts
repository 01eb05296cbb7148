// A plan as people read it: text for a terminal, Markdown for a pull-request comment (summary
// table first, details folded), JSON for machines.
import { CONSOLE_OWN_GRANT } from "../model/index.ts";
import type { ConsoleGrant, ConsolePermissions } from "./console-grants.ts";
import type { Danger, DangerKind, FileChange, FleetChange, ResourceChange, StackPlan } from "./preview.ts";
import type { PlanResult } from "./run.ts";

export const COMMENT_MARKER = "<!-- fawkes-plan -->";

const ACTIONS = ["create", "update", "replace", "delete"] as const;
const SYMBOL: Record<ResourceChange["action"], string> = { create: "+", update: "~", replace: "+-", delete: "-" };

function count(plan: StackPlan, action: ResourceChange["action"]): number {
  return plan.resources.filter((r) => r.action === action).length;
}

/** A value in one short line: JSON, cut in the middle past `max` characters. */
export function shortValue(v: unknown, max = 60): string {
  const s = v === undefined ? "(unset)" : JSON.stringify(v);
  return s.length <= max ? s : `${s.slice(0, max / 2 - 2)} … ${s.slice(-(max / 2 - 2))}`;
}

/** How a fleet's hosts go: the instance refresh's batches in the stack's rollout knobs. */
export function describeFleet(f: FleetChange): string {
  const parts: string[] = [];
  if (f.groupReplaced) parts.push(`the group itself is replaced: all ${f.hosts} host${f.hosts === 1 ? "" : "s"} at once, no instance refresh`);
  else if (f.replaced) {
    const batches = f.steps.map((s, i) => `${s.hosts}${i === 0 && f.steps.length > 1 ? " (canary)" : ""}${s.checkpoint ? ", checkpoint" : ""}`);
    const how = f.rolloutProblem ? `the rollout knobs leave no room: ${f.rolloutProblem}` : `batches of ${batches.join("; then ")}; up to ${f.surge} extra, ${f.maxUnavailable} out of service at once`;
    parts.push(`${f.hosts === 1 ? "its host is" : `its ${f.hosts} hosts are`} replaced by an instance refresh (${how})`);
  }
  if (f.capacity) parts.push(`desired ${f.capacity.before} → ${f.capacity.after}`);
  if (f.reasons.length > 0) parts.push(`because ${f.reasons.join(", ")} changed`);
  return parts.join("; ");
}

const GRANT_SYMBOL: Record<ConsoleGrant["status"], string> = { added: "+", removed: "-", changed: "~", unchanged: "=" };

/** `production (added), staging`: the stacks a console may deploy to, and those it no longer may. */
export function consoleReach(c: ConsolePermissions): string {
  const now = c.environments.map((e) => (c.addedEnvironments.includes(e) ? `${e} (added)` : e));
  const gone = c.removedEnvironments.length > 0 ? `; no longer ${c.removedEnvironments.join(", ")}` : "";
  return `${now.join(", ") || "no environment"}${gone}`;
}

const grantLabel = (g: ConsoleGrant) => (g.grant === CONSOLE_OWN_GRANT ? "its own (mail, log queries, OIDC secret, bundle)" : g.grant);

/** What one policy lets the console do: the actions that change something (all of them), how many only read, what is denied, what the change moves. */
export function describeGrant(g: ConsoleGrant): string {
  const parts = [g.writes === undefined ? `allows ${g.actions.join(", ")}` : g.writes.length > 0 ? `may change: ${g.writes.join(", ")}` : "changes nothing"];
  if (g.reads !== undefined) parts.push(`${g.reads} read action${g.reads === 1 ? "" : "s"}`);
  if (g.denied.length > 0) parts.push(`denied on the resources its Deny statements name: ${g.denied.join(", ")}`);
  if (g.status === "changed") {
    parts.push(
      g.added.length === 0 && g.removed.length === 0
        ? "this change keeps the actions and changes what they act on (the policy's diff is under Resources)"
        : `this change allows ${g.added.join(", ") || "nothing new"} and takes away ${g.removed.join(", ") || "nothing"}`,
    );
  }
  if (g.status === "removed") parts.push("this change takes the whole policy away");
  return parts.join("; ");
}

function hostsCell(plan: StackPlan): string {
  const replaced = plan.fleets.filter((f) => f.replaced);
  if (replaced.length === 0) return plan.fleets.some((f) => f.capacity) ? "none (capacity changes)" : "none";
  return replaced.map((f) => `${f.role} ${f.hosts}${f.groupReplaced ? " at once" : f.steps.length > 1 ? ` (canary ${f.steps[0]!.hosts})` : ""}`).join(", ");
}

function dangersCell(dangers: readonly Danger[], allowed: readonly DangerKind[]): string {
  if (dangers.length === 0) return "none";
  const kinds = [...new Set(dangers.map((d) => d.kind))];
  return kinds.map((k) => `${allowed.includes(k) ? "allowed" : "⚠"} ${dangers.filter((d) => d.kind === k).length} ${k}`).join(", ");
}

function statusWord(plan: StackPlan): string {
  if (plan.status === "added") return "new stack";
  if (plan.status === "removed") return "stack removed";
  return plan.status === "unchanged" ? "no change" : "";
}

function title(result: PlanResult): string {
  const head = `this tree${result.head.commit ? ` (${result.head.commit.slice(0, 12)}${result.head.uncommitted ? " + uncommitted changes" : ""})` : ""}`;
  return `fawkes plan: ${result.base.ref} (${result.base.commit.slice(0, 12)}) → ${head}`;
}

function allDangers(result: PlanResult): Array<Danger & { stack: string }> {
  return result.stacks.flatMap((s) => s.dangers.map((d) => ({ ...d, stack: s.stack })));
}

// ---- Markdown ----

/** Text safe inside HTML and Markdown: `<stack>` stays visible, `*` and `_` stay characters. */
const escapeText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/[`*_~[\]\\|]/g, (c) => `&#${c.charCodeAt(0)};`);
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (s: string) => `<code>${escapeText(s)}</code>`;

/** A fence longer than any run of backticks in the text, so a file holding ``` cannot end it. */
function fenced(lang: string, text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

function mdResources(plan: StackPlan): string[] {
  if (plan.resources.length === 0) return [];
  const rows = plan.resources.map((r) => {
    const inputs =
      r.action === "create" || r.action === "delete"
        ? ""
        : r.changes.map((c) => `${code(c.path)}${r.replacedBy.includes(c.path) ? " (forces replacement)" : ""}: ${c.note ?? `${code(shortValue(c.before))} → ${code(shortValue(c.after))}`}`).join("<br>");
    return `| ${SYMBOL[r.action]} ${r.action} | ${code(r.name)} | ${code(r.type)} | ${cell(inputs)} |`;
  });
  return ["#### Resources", "", "| Action | Resource | Type | Changed inputs |", "| --- | --- | --- | --- |", ...rows, ""];
}

function mdConsole(plan: StackPlan): string[] {
  const c = plan.console;
  if (!c) return [];
  const rows = c.grants.map((g) => `| ${GRANT_SYMBOL[g.status]} ${g.status} | ${escapeText(grantLabel(g))} | ${code(g.policy)} | ${cell(escapeText(describeGrant(g)))} |`);
  return [
    "#### Deploy console",
    "",
    `The console's role${c.role ? ` ${code(c.role)}` : ""} may deploy to: ${escapeText(consoleReach(c))}. Per stack it holds that environment's deployer permissions, and nothing on any other.`,
    "",
    "| Change | Permissions of | Policy | What they allow |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ];
}

function mdFleets(plan: StackPlan): string[] {
  if (plan.fleets.length === 0) return [];
  return ["#### Fleets", "", ...plan.fleets.map((f) => `- **${f.role}** (${code(f.group)}): ${describeFleet(f)}`), ""];
}

function fileSummary(f: FileChange): string {
  return `${f.status}, +${f.linesAdded} −${f.linesRemoved}`;
}

/** GitHub refuses comments over 65,536 characters: the comment stays under this many. */
export const MARKDOWN_BUDGET = 60_000;

/** Per file: the first stack that showed this very diff, so later stacks only point at it. */
type SeenDiffs = Map<string, string>;

/**
 * The host-image section of a stack. Diffs are shown while `room` lasts (what the comment has
 * left once everything else is written); past it they are only named.
 */
function mdFiles(plan: StackPlan, seen: SeenDiffs, room: { left: number }): string[] {
  if (plan.files.length === 0) return [];
  const out = ["#### Host images", ""];
  const same = new Map<string, string[]>();
  const leftOut: FileChange[] = [];
  for (const f of plan.files) {
    const key = `${f.role}\u0000${f.path}\u0000${f.diff}`;
    const first = seen.get(key);
    if (first !== undefined) {
      same.set(first, [...(same.get(first) ?? []), `${f.role}: ${code(f.path)}`]);
      continue;
    }
    const block = [`<details><summary>${f.role}: ${code(f.path)} (${fileSummary(f)})</summary>`, "", fenced("diff", f.diff), "", "</details>", ""].join("\n");
    if (block.length + 1 > room.left) {
      leftOut.push(f);
      continue;
    }
    room.left -= block.length + 1;
    seen.set(key, plan.stack);
    out.push(block);
  }
  for (const [stack, files] of same) out.push(`The same diff as in **${stack}**: ${files.join(", ")}.`, "");
  if (leftOut.length > 0) {
    out.push(`Diffs left out to keep this comment under GitHub's limit (\`fawkes plan --stack ${plan.stack}\` shows them): ${leftOut.map((f) => `${f.role}: ${code(f.path)} (${fileSummary(f)})`).join(", ")}.`, "");
  }
  return out;
}

function stackSummaryLine(plan: StackPlan): string {
  const word = statusWord(plan);
  const counts = ACTIONS.map((a) => [a, count(plan, a)] as const)
    .filter(([, n]) => n > 0)
    .map(([a, n]) => `${n} to ${a}`);
  const files = plan.files.length > 0 ? [`${plan.files.length} host-image file${plan.files.length === 1 ? "" : "s"}`] : [];
  return [word, ...counts, ...files].filter((s) => s !== "").join(", ") || "no change";
}

export function formatMarkdown(result: PlanResult, allowed: readonly DangerKind[] = []): string {
  const head = [COMMENT_MARKER, `### ${title(result)}`, ""];
  head.push("| Stack | Create | Update | Replace | Delete | Host-image files | Hosts replaced | Dangers |", "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |");
  for (const s of result.stacks) {
    const note = statusWord(s);
    head.push(
      `| ${s.stack}${note ? ` (${note})` : ""} | ${ACTIONS.map((a) => count(s, a)).join(" | ")} | ${s.files.length} | ${cell(hostsCell(s))} | ${cell(dangersCell(s.dangers, allowed))} |`,
    );
  }
  head.push("");
  const dangers = allDangers(result);
  if (dangers.length > 0) {
    const open = dangers.filter((d) => !allowed.includes(d.kind));
    head.push(
      open.length > 0
        ? `**⚠ Dangers**: the plan fails until they are fixed or allowed (\`fawkes plan --allow ${[...new Set(open.map((d) => d.kind))].join(",")}\`).`
        : "**Dangers**, all allowed:",
      "",
    );
    for (const d of dangers) head.push(`- **${d.stack}** (${d.kind}${allowed.includes(d.kind) ? ", allowed" : ""}): ${escapeText(d.message)}`);
    head.push("");
  }
  // Who may deploy where is read before anything else: not folded away.
  for (const s of result.stacks.filter((x) => x.console)) head.push(`**${s.stack}**: the deploy console may deploy to ${escapeText(consoleReach(s.console!))}.`, "");
  const removed = result.stacks.filter((s) => s.status === "removed").map((s) => s.stack);
  if (removed.length > 0) head.push(`Stack files removed: ${removed.join(", ")}. Removing a stack file destroys nothing: its resources stay until \`pulumi destroy\`.`, "");
  const foot = [
    `<sub>Offline preview: each side's Pulumi program run under mocks (no cloud account); replacements read from the fields AWS cannot change in place. Hosts boot the AMI pinned in the stack files; the Image Builder parent image's lookup is mocked (a new Debian AMI shows only in \`pulumi preview\`). Secret values are never shown. Stacks are held identical to ${result.reference}.</sub>`,
    "",
  ];
  // Everything but the diffs first; the diffs get what room is left.
  const shown = result.stacks.filter((s) => s.resources.length > 0 || s.files.length > 0 || s.fleets.length > 0 || s.dangers.length > 0 || s.console);
  const sections = shown.map((s) => ({
    open: [`<details><summary><b>${s.stack}</b>: ${stackSummaryLine(s)}</summary>`, "", ...mdConsole(s), ...mdResources(s), ...mdFleets(s)].join("\n"),
    plan: s,
  }));
  const fixed = [...head, ...foot].join("\n").length + sections.reduce((n, x) => n + x.open.length + "</details>\n\n".length + 400, 0);
  const room = { left: MARKDOWN_BUDGET - fixed };
  const seen: SeenDiffs = new Map();
  const body = sections.flatMap((x) => [x.open, ...mdFiles(x.plan, seen, room), "</details>", ""]);
  const text = [...head, ...body, ...foot].join("\n");
  // The last guard: resource tables alone can outgrow a comment.
  if (text.length <= MARKDOWN_BUDGET + 5_000) return text;
  const cut = text.slice(0, MARKDOWN_BUDGET).replace(/\n[^\n]*$/, "");
  return `${cut}\n\n</details>\n\n**This plan is longer than a comment can hold; it is cut here.** \`fawkes plan --all --format text\` prints all of it.\n`;
}

// ---- Text ----

export function formatText(result: PlanResult, allowed: readonly DangerKind[] = []): string {
  const out = [title(result), ""];
  for (const s of result.stacks) {
    out.push(`${s.stack}: ${stackSummaryLine(s)}`);
    for (const r of s.resources) {
      out.push(`  ${SYMBOL[r.action].padEnd(2)} ${r.action.padEnd(7)} ${r.type} ${r.name}`);
      for (const c of r.changes) out.push(`        ${c.path}: ${c.note ?? `${shortValue(c.before)} -> ${shortValue(c.after)}`}${r.replacedBy.includes(c.path) ? "  (forces replacement)" : ""}`);
    }
    for (const f of s.fleets) out.push(`  fleet ${f.role} (${f.group}): ${describeFleet(f)}`);
    if (s.console) {
      out.push(`  deploy console${s.console.role ? ` (role ${s.console.role})` : ""}: may deploy to ${consoleReach(s.console)}`);
      for (const g of s.console.grants) out.push(`    ${GRANT_SYMBOL[g.status]} ${grantLabel(g)} (policy ${g.policy}): ${describeGrant(g)}`);
    }
    for (const f of s.files) {
      out.push(`  host image ${f.role}: ${f.path} (${fileSummary(f)})`);
      out.push(...f.diff.split("\n").map((l) => `    ${l}`));
    }
    for (const d of s.dangers) out.push(`  DANGER ${d.kind}${allowed.includes(d.kind) ? " (allowed)" : ""}: ${d.message}`);
    out.push("");
  }
  const open = allDangers(result).filter((d) => !allowed.includes(d.kind));
  out.push(open.length > 0 ? `${open.length} danger${open.length === 1 ? "" : "s"} not allowed (--allow ${[...new Set(open.map((d) => d.kind))].join(",")} to accept)` : "no dangers");
  return `${out.join("\n")}\n`;
}

export function formatJson(result: PlanResult, allowed: readonly DangerKind[] = []): string {
  const open = allDangers(result).filter((d) => !allowed.includes(d.kind));
  return `${JSON.stringify({ ...result, allowed, failed: open.length > 0 }, null, 2)}\n`;
}
