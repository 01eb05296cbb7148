// `qa down` on AWS removes everything a QA stack made (issue 16, finding 6): the pure plan made
// from the stack's state, and the SDK edge under aws-sdk-client-mock sequences: a versioned bucket
// emptied of every version and delete marker before `pulumi destroy`, log groups a dying host's
// agent made again deleted after it, a second run finding nothing to do, any other stack refused.
import { CloudWatchLogsClient, DeleteLogGroupCommand, ResourceNotFoundException } from "@aws-sdk/client-cloudwatch-logs";
import { DeleteObjectsCommand, ListObjectVersionsCommand, NoSuchBucket, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { qaStackName } from "../../src/names/index.ts";
import { deleteLogGroup, emptyBucket, QA_TAGS, qaDownAws, QaError, removeQaStack, sdkTeardown, teardownPlan, type QaStacks, type StateResource } from "../../src/qa/index.ts";

const STACK = qaStackName("feature/teardown");
const BUCKET = `fawkes-${STACK}-artifacts-123456789012-eu-west-1`;
const urn = (type: string, name: string) => `urn:pulumi:${STACK}::fawkes::fawkes:index:Environment$${type}::${name}`;

/** A QA stack's state as `pulumi stack export` has it, cut to what matters here. */
function qaState(extra: StateResource[] = []): StateResource[] {
  return [
    { urn: `urn:pulumi:${STACK}::fawkes::pulumi:pulumi:Stack::fawkes-${STACK}`, type: "pulumi:pulumi:Stack" },
    { urn: `urn:pulumi:${STACK}::fawkes::pulumi:providers:aws::aws`, type: "pulumi:providers:aws", id: "0a1b", inputs: { region: "eu-west-1" }, outputs: { region: "eu-west-1" } },
    { urn: urn("fawkes:storage:ArtifactStore$aws:s3/bucket:Bucket", "fawkes-artifacts-bucket"), type: "aws:s3/bucket:Bucket", id: BUCKET, outputs: { bucket: BUCKET, forceDestroy: false, region: "eu-west-1" } },
    { urn: urn("fawkes:ops:AppResources$aws:cloudwatch/logGroup:LogGroup", "fawkes-apps-shop"), type: "aws:cloudwatch/logGroup:LogGroup", id: `/fawkes/${STACK}/apps/shop`, outputs: { name: `/fawkes/${STACK}/apps/shop` } },
    { urn: urn("fawkes:ops:AppResources$aws:cloudwatch/logGroup:LogGroup", "fawkes-apps-host-web"), type: "aws:cloudwatch/logGroup:LogGroup", id: `/fawkes/${STACK}/hosts/web`, outputs: { name: `/fawkes/${STACK}/hosts/web` } },
    { urn: urn("fawkes:compute:Fleet$aws:autoscaling/group:Group", "fawkes-web-group"), type: "aws:autoscaling/group:Group", id: `fawkes-${STACK}-web` },
    ...extra,
  ];
}

const vault = (recoveryPoints: number): StateResource => ({
  urn: urn("fawkes:ops:Backups$aws:backup/vault:Vault", "fawkes-backups-vault"),
  type: "aws:backup/vault:Vault",
  id: `fawkes-${STACK}-vault`,
  outputs: { name: `fawkes-${STACK}-vault`, recoveryPoints },
});

describe("the teardown plan, from the stack's state", () => {
  it("empties the buckets before the destroy and deletes the log groups after it, in the provider's region", () => {
    const plan = teardownPlan(STACK, qaState());
    expect(plan.region).toBe("eu-west-1");
    expect(plan.beforeDestroy).toEqual([{ kind: "empty-bucket", bucket: BUCKET }]);
    expect(plan.afterDestroy).toEqual([
      { kind: "delete-log-group", logGroup: `/fawkes/${STACK}/apps/shop` },
      { kind: "delete-log-group", logGroup: `/fawkes/${STACK}/hosts/web` },
    ]);
    expect(plan.vaultAdvice).toBeUndefined();
  });

  it("refuses every stack that is not a QA branch stack, whatever its state", () => {
    for (const stack of ["production", "staging", "dev", "qa", "qa-", "../qa-x"]) {
      expect(() => teardownPlan(stack, qaState())).toThrow(new QaError(`refusing to tear down ${stack}: not a QA stack (qa-<branch>); qa never empties or deletes another stack's buckets or logs`));
    }
  });

  it("a state with nothing to empty (a first up that failed early, or one already destroyed) is an empty plan", () => {
    expect(teardownPlan(STACK, [])).toEqual({ stack: STACK, region: "", beforeDestroy: [], afterDestroy: [] });
    expect(teardownPlan(STACK, qaState().slice(0, 2)).beforeDestroy).toEqual([]);
  });

  it("a vault of an older fawkes that the state says holds recovery points: refused before anything, with the commands that delete them", () => {
    const e = (() => {
      try {
        teardownPlan(STACK, qaState([vault(3)]));
      } catch (x) {
        return x as Error;
      }
      throw new Error("not refused");
    })();
    expect(e).toBeInstanceOf(QaError);
    expect(e.message).toContain(`its state says vault fawkes-${STACK}-vault holds 3 recovery point(s)`);
    expect(e.message).toContain(`aws backup delete-recovery-point --region eu-west-1 --backup-vault-name fawkes-${STACK}-vault --recovery-point-arn <arn>`);
    expect(e.message).toMatch(/then run qa down again \(nothing was destroyed\)$/);
  });

  it("an empty vault goes with the destroy; the plan keeps the advice in case it gained recovery points since the last up", () => {
    const plan = teardownPlan(STACK, qaState([vault(0)]));
    expect(plan.beforeDestroy).toHaveLength(1);
    expect(plan.vaultAdvice).toContain(`aws backup list-recovery-points-by-backup-vault --region eu-west-1 --backup-vault-name fawkes-${STACK}-vault`);
  });

  it("a bucket but no region anywhere in the state: a clear error, not a call to some default region", () => {
    const state = qaState().filter((r) => r.type !== "pulumi:providers:aws").map((r) => (r.type === "aws:s3/bucket:Bucket" ? { ...r, outputs: { bucket: BUCKET } } : r));
    expect(() => teardownPlan(STACK, state)).toThrow(`${STACK}: its state names no AWS region`);
  });
});

const s3 = mockClient(S3Client);
const logs = mockClient(CloudWatchLogsClient);
const client = () => new S3Client({ region: "eu-west-1" });

/** A versioned bucket's listing: each entry [key, versionId]; delete markers apart, as S3 returns them. */
const page = (versions: Array<[string, string]>, markers: Array<[string, string]>, next?: [string, string]) =>
  ({
    Versions: versions.map(([Key, VersionId]) => ({ Key, VersionId, IsLatest: false })),
    DeleteMarkers: markers.map(([Key, VersionId]) => ({ Key, VersionId, IsLatest: true })),
    IsTruncated: next !== undefined,
    ...(next ? { NextKeyMarker: next[0], NextVersionIdMarker: next[1] } : {}),
  }) as never;

beforeEach(() => {
  s3.reset();
  logs.reset();
});

describe("emptying a versioned bucket (S3 SDK edge)", () => {
  it("deletes every version and every delete marker by version id, page after page, quietly", async () => {
    s3.on(ListObjectVersionsCommand, { Bucket: BUCKET, KeyMarker: undefined, VersionIdMarker: undefined })
      .resolves(page([["shop/r1.tar.gz", "v1"], ["shop/r1.tar.gz", "v2"]], [["shop/r0.tar.gz", "m1"]], ["shop/r1.tar.gz", "v2"]))
      .on(ListObjectVersionsCommand, { Bucket: BUCKET, KeyMarker: "shop/r1.tar.gz", VersionIdMarker: "v2" })
      .resolves(page([["backups/qa/blog.dump", "v9"]], [["blog/r3.tar.gz", "m2"]]));
    s3.on(DeleteObjectsCommand).resolves({ Errors: [] });
    expect(await emptyBucket(client(), BUCKET)).toBe(5);
    const deletes = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
    expect(deletes).toEqual([
      { Bucket: BUCKET, Delete: { Quiet: true, Objects: [{ Key: "shop/r1.tar.gz", VersionId: "v1" }, { Key: "shop/r1.tar.gz", VersionId: "v2" }, { Key: "shop/r0.tar.gz", VersionId: "m1" }] } },
      { Bucket: BUCKET, Delete: { Quiet: true, Objects: [{ Key: "backups/qa/blog.dump", VersionId: "v9" }, { Key: "blog/r3.tar.gz", VersionId: "m2" }] } },
    ]);
    // Every delete names a version: none adds a delete marker, which would leave the bucket not empty.
    expect(deletes.flatMap((d) => d.Delete!.Objects!).every((o) => typeof o.VersionId === "string")).toBe(true);
  });

  it("an object S3 does not delete stops the teardown with its key and code, before any destroy", async () => {
    s3.on(ListObjectVersionsCommand).resolves(page([["shop/r1.tar.gz", "v1"]], []));
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: "shop/r1.tar.gz", VersionId: "v1", Code: "AccessDenied", Message: "Access Denied" }] });
    await expect(emptyBucket(client(), BUCKET)).rejects.toThrow(
      `emptying bucket ${BUCKET}: S3 did not delete 1 of 1 object versions, e.g. shop/r1.tar.gz (v1): AccessDenied Access Denied; nothing was destroyed`,
    );
  });

  it("an empty bucket, or one already gone, is done: nothing deleted, no error", async () => {
    s3.on(ListObjectVersionsCommand).resolvesOnce(page([], [])).rejectsOnce(new NoSuchBucket({ message: "The specified bucket does not exist", $metadata: {} }));
    expect(await emptyBucket(client(), BUCKET)).toBe(0);
    expect(await emptyBucket(client(), BUCKET)).toBe(0);
    expect(s3.commandCalls(DeleteObjectsCommand)).toEqual([]);
  });
});

describe("deleting a log group (CloudWatch Logs SDK edge)", () => {
  it("deletes it when a host made it again, and is done when it is not there", async () => {
    logs.on(DeleteLogGroupCommand).resolvesOnce({}).rejectsOnce(new ResourceNotFoundException({ message: "The specified log group does not exist.", $metadata: {} }));
    const c = new CloudWatchLogsClient({ region: "eu-west-1" });
    expect(await deleteLogGroup(c, "/fawkes/x/apps/shop")).toBe(1);
    expect(await deleteLogGroup(c, "/fawkes/x/apps/shop")).toBe(0);
  });
});

describe("qa down on AWS, through the SDK edge", () => {
  let root = "";
  const order: string[] = [];

  /** Pulumi with one QA stack whose state is `state`; destroy empties it, as Pulumi does. */
  function pulumiWith(state: StateResource[], failDestroy?: string): QaStacks & { present: () => boolean } {
    let resources = [...state];
    let present = true;
    const no = async () => {
      throw new Error("not used by qa down");
    };
    return {
      present: () => present,
      preflight: async () => {},
      list: async () => (present ? [{ name: STACK, tags: { [QA_TAGS.qa]: "true", [QA_TAGS.branch]: "feature/teardown", [QA_TAGS.createdStackFile]: "false" }, resourceCount: resources.length }] : []),
      resources: async () => resources,
      destroy: async () => {
        order.push("pulumi destroy");
        if (failDestroy) throw new Error(failDestroy);
        resources = [];
      },
      remove: async () => {
        order.push("pulumi stack rm");
        present = false;
      },
      selectOrCreate: no,
      tags: no,
      setTag: no,
      up: no,
      outputs: no,
    };
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "fawkes-qa-teardown-"));
    mkdirSync(join(root, "stacks"));
    writeFileSync(join(root, "Pulumi.yaml"), readFileSync(join(import.meta.dirname, "../../Pulumi.yaml")));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  beforeEach(() => {
    order.length = 0;
    s3.on(ListObjectVersionsCommand).callsFake(() => {
      order.push("s3 ListObjectVersions");
      return page([["shop/r1.tar.gz", "v1"]], [["shop/r1.tar.gz", "m1"]]);
    });
    s3.on(DeleteObjectsCommand).callsFake(() => {
      order.push("s3 DeleteObjects");
      return { Errors: [] };
    });
    logs.on(DeleteLogGroupCommand).callsFake(({ logGroupName }: { logGroupName: string }) => {
      order.push(`logs DeleteLogGroup ${logGroupName}`);
      throw new ResourceNotFoundException({ message: "The specified log group does not exist.", $metadata: {} });
    });
  });

  it("empties the bucket, destroys, deletes the log groups, removes the stack; a second run finds nothing and touches nothing", async () => {
    const stacks = pulumiWith(qaState());
    const r = await qaDownAws({ root, branch: "feature/teardown", stacks, teardown: sdkTeardown() });
    expect(order).toEqual([
      "s3 ListObjectVersions",
      "s3 DeleteObjects",
      "pulumi destroy",
      `logs DeleteLogGroup /fawkes/${STACK}/apps/shop`,
      `logs DeleteLogGroup /fawkes/${STACK}/hosts/web`,
      "pulumi stack rm",
    ]);
    expect(r.teardown.map((t) => [t.step.kind, t.deleted])).toEqual([
      ["empty-bucket", 2],
      ["delete-log-group", 0],
      ["delete-log-group", 0],
    ]);
    expect(stacks.present()).toBe(false);
    order.length = 0;
    await expect(qaDownAws({ root, branch: "feature/teardown", stacks, teardown: sdkTeardown() })).rejects.toThrow(`no QA stack for branch "feature/teardown" (stack ${STACK}) in the Pulumi backend`);
    expect(order).toEqual([]);
  });

  it("an interrupted run (the stack still there, its bucket already empty) runs again to the end", async () => {
    s3.on(ListObjectVersionsCommand).callsFake(() => {
      order.push("s3 ListObjectVersions");
      return page([], []);
    });
    const stacks = pulumiWith(qaState());
    await qaDownAws({ root, branch: "feature/teardown", stacks, teardown: sdkTeardown() });
    expect(order.filter((o) => !o.startsWith("logs"))).toEqual(["s3 ListObjectVersions", "pulumi destroy", "pulumi stack rm"]);
  });

  it("production, staging or a stack qa did not tag: refused before any AWS or Pulumi call", async () => {
    for (const stack of ["production", "staging"]) {
      await expect(removeQaStack(pulumiWith(qaState()), root, stack, { [QA_TAGS.qa]: "true" }, () => {}, sdkTeardown())).rejects.toThrow(`refusing to remove ${stack}: not a QA stack`);
    }
    await expect(removeQaStack(pulumiWith(qaState()), root, STACK, {}, () => {}, sdkTeardown())).rejects.toThrow(`refusing to remove ${STACK}: qa up did not make it`);
    expect(order).toEqual([]);
    expect(s3.calls()).toEqual([]);
  });

  it("a destroy that fails where an older fawkes left a vault says how to delete its recovery points", async () => {
    const stacks = pulumiWith(qaState([vault(0)]), "error: deleting Backup Vault: InvalidRequestException: Backup vault cannot be deleted because it contains recovery points");
    const e = await qaDownAws({ root, branch: "feature/teardown", stacks, teardown: sdkTeardown() }).catch((x: unknown) => x as Error);
    expect(e).toBeInstanceOf(QaError);
    expect((e as Error).message).toContain("Backup vault cannot be deleted because it contains recovery points; if it stopped at the backup vault: AWS deletes a backup vault only once it holds no recovery point");
    expect(order).toEqual(["s3 ListObjectVersions", "s3 DeleteObjects", "pulumi destroy"]);
    expect(stacks.present()).toBe(true);
  });
});
