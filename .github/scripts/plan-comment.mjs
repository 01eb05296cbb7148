// The fawkes plan comment on a pull request: one comment, found again by a hidden marker and
// edited on every push, its body cut to fit GitHub's limit. .github/workflows/plan.yml calls it
// through actions/github-script; it uses no globals, so test/unit/workflows.test.ts imports it as is.

export const PLAN_MARKER = "<!-- fawkes-plan -->";
/** GitHub refuses a comment body longer than this (characters; a JS length is never fewer). */
export const COMMENT_LIMIT = 65536;
export const DANGER_LABEL = "fawkes:allow-danger";
export const ARTIFACT_NAME = "fawkes-plan";

function statusNote(status, runUrl) {
  if (status === "0") return "";
  if (status === "1") {
    return `**fawkes plan found dangers**: this check fails until they are gone or the pull request carries the label \`${DANGER_LABEL}\`.`;
  }
  return `**fawkes plan could not run** (exit ${status || "unknown"}): see the [job log](${runUrl}).`;
}

/** The opening fence of a fenced code block left open at the end of `text`, if any. */
function openFence(text) {
  let open = "";
  for (const line of text.split("\n")) {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (!m) continue;
    if (!open) open = m[1];
    else if (m[1][0] === open[0] && m[1].length >= open.length) open = "";
  }
  return open;
}

/**
 * The comment: the marker, plan.md, a note when plan exited non-zero, the commit and the job log.
 * Past `limit` the plan is cut at a line (closing an open code block) with a note saying where the
 * whole of it is.
 */
export function planCommentBody(markdown, { status, runUrl, commit, limit = COMMENT_LIMIT }) {
  const plan = markdown.trimEnd() || "_fawkes plan printed nothing._";
  const foot = [statusNote(String(status ?? ""), runUrl), `<sub>${commit ? `plan of ${commit.slice(0, 12)} · ` : ""}[job log](${runUrl})</sub>`]
    .filter(Boolean)
    .join("\n\n");
  const whole = [PLAN_MARKER, plan, foot].join("\n\n");
  if (whole.length <= limit) return whole;

  const cut = `**Truncated**: the plan is longer than a comment can hold. The whole of it is in the [job log](${runUrl}) and in the run's \`${ARTIFACT_NAME}\` artifact (plan.md, plan.json).`;
  // Three "\n\n" separators and at most one closing fence of 3 backticks or tildes are added.
  const room = limit - PLAN_MARKER.length - foot.length - cut.length - 6;
  let kept = plan.slice(0, Math.max(0, room));
  kept = kept.slice(0, Math.max(0, kept.lastIndexOf("\n")));
  let fence = openFence(kept);
  while (fence && kept.length + 1 + fence.length > room) {
    kept = kept.slice(0, Math.max(0, kept.lastIndexOf("\n")));
    fence = openFence(kept);
  }
  if (fence) kept += `\n${fence}`;
  return [PLAN_MARKER, kept, cut, foot].join("\n\n");
}

/** Edits the bot's comment that starts with the marker, or creates it: one comment per pull request. */
export async function upsertPlanComment({ github, context, body }) {
  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
  const previous = comments.find((c) => c.user?.type === "Bot" && typeof c.body === "string" && c.body.startsWith(PLAN_MARKER));
  if (previous) {
    const { data } = await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
    return { action: "updated", id: previous.id, url: data?.html_url };
  }
  const { data } = await github.rest.issues.createComment({ owner, repo, issue_number, body });
  return { action: "created", id: data.id, url: data.html_url };
}
