// Types of plan-comment.mjs, for the tests (actions/github-script runs the .mjs itself).

export declare const PLAN_MARKER: string;
export declare const COMMENT_LIMIT: number;
export declare const DANGER_LABEL: string;
export declare const ARTIFACT_NAME: string;

export interface PlanCommentOptions {
  /** fawkes plan's exit code as a string: "0", "1", or anything else for a failure. */
  status: string | undefined;
  runUrl: string;
  commit?: string;
  limit?: number;
}

export declare function planCommentBody(markdown: string, options: PlanCommentOptions): string;

export interface IssueComment {
  id: number;
  body?: string | null;
  html_url?: string;
  user?: { type?: string } | null;
}

interface RepoParams {
  owner: string;
  repo: string;
}

/** The part of actions/github-script's `github` (an Octokit) the comment needs. */
export interface CommentClient {
  paginate(method: unknown, params: RepoParams & { issue_number: number; per_page: number }): Promise<IssueComment[]>;
  rest: {
    issues: {
      listComments: unknown;
      updateComment(params: RepoParams & { comment_id: number; body: string }): Promise<{ data: IssueComment }>;
      createComment(params: RepoParams & { issue_number: number; body: string }): Promise<{ data: IssueComment }>;
    };
  };
}

export interface CommentContext {
  repo: RepoParams;
  issue: { number: number };
}

export declare function upsertPlanComment(args: {
  github: CommentClient;
  context: CommentContext;
  body: string;
}): Promise<{ action: "created" | "updated"; id: number; url: string | undefined }>;
