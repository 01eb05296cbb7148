// The deploy lock of a stack on AWS: an item of the stack's DynamoDB lock table with a lease, so that
// two machines never release at once. Two lock instances play two machines against one table in
// memory (test/helpers/lock-table.ts) whose conditions are evaluated as sent; each request's input
// is also asserted exactly, since those strings are what DynamoDB itself evaluates.
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LOCK_KEY } from "../../src/model/index.ts";
import { DEPLOY_LOCK_ITEM, dynamoDeployLock, LEASE_SECONDS, RENEW_SECONDS, type DynamoLease } from "../../src/release/deploy-lock-dynamodb.ts";
import { DeployLockedError, DeployLockError, DeployLockLostError, holdDeployLock } from "../../src/release/deploy-lock-store.ts";
import { lockTable } from "../helpers/lock-table.ts";

const TABLE = "acme-staging-locks";
const T0 = 1_900_000_000; // epoch seconds
const table = lockTable(TABLE, LOCK_KEY);
let clock = T0 * 1000;
const client = new DynamoDBClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });

/** One machine: its own holder, the same table and clock. */
const machine = (who: string, pid: number) =>
  dynamoDeployLock({ client, table: TABLE, stack: "staging", region: "eu-west-1", target: "aws", now: () => clock, holder: { who: `${who}@${who}-laptop`, machine: `${who}-laptop`, pid } });
const ann = machine("ann", 101);
const bo = machine("bo", 202);
const item = () => table.items.get(DEPLOY_LOCK_ITEM);
const at = (seconds: number) => (clock = (T0 + seconds) * 1000);

async function refused(p: Promise<unknown>): Promise<DeployLockedError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (e instanceof DeployLockedError) return e;
  throw new Error(`expected DeployLockedError, got ${String(e)}`);
}

beforeEach(() => {
  table.install();
  table.items.clear();
  table.state.exists = true;
  table.state.denied = undefined;
  at(0);
});
afterEach(() => vi.useRealTimers());
afterAll(() => table.restore());

describe("the deploy lock in the stack's DynamoDB lock table", () => {
  it("is a lease of 5 minutes renewed every minute, on an item no host lock is named", () => {
    expect([LEASE_SECONDS, RENEW_SECONDS]).toEqual([300, 60]);
    // The hosts' locks are <app>-database and <app>-<release>-hooks: never a name without a dash.
    expect(DEPLOY_LOCK_ITEM).toBe("deploy");
  });

  it("is taken by a conditional PutItem (absent or expired) holding who, pid, machine, command, since and the lease", async () => {
    const lease = await ann.acquire("fawkes release blog r2 --stack staging --target aws");
    const [put] = table.mock.commandCalls(PutItemCommand);
    expect(put!.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        [LOCK_KEY]: { S: "deploy" },
        Owner: { S: lease.lock.token },
        Who: { S: "ann@ann-laptop" },
        Machine: { S: "ann-laptop" },
        Pid: { N: "101" },
        Command: { S: "fawkes release blog r2 --stack staging --target aws" },
        AcquiredAt: { S: new Date(T0 * 1000).toISOString() },
        ExpiresAt: { N: String(T0 + 300) },
      },
      ConditionExpression: "attribute_not_exists(#k) OR #e < :now",
      ExpressionAttributeNames: { "#k": LOCK_KEY, "#e": "ExpiresAt" },
      ExpressionAttributeValues: { ":now": { N: String(T0) } },
      ReturnValues: "ALL_OLD",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(lease.lock).toMatchObject({ stack: "staging", who: "ann@ann-laptop", pid: 101, machine: "ann-laptop", since: new Date(T0 * 1000).toISOString(), expiresAt: new Date((T0 + 300) * 1000).toISOString() });
    expect(lease.lock.token).toMatch(/^ann@ann-laptop:101:[0-9a-f]{16}$/);
    expect(await ann.read()).toEqual({ lock: lease.lock, stale: false });
    expect(table.mock.commandCalls(GetItemCommand)[0]!.args[0].input).toEqual({ TableName: TABLE, Key: { [LOCK_KEY]: { S: "deploy" } }, ConsistentRead: true });
    await lease.release();
    expect(item()).toBeUndefined();
  });

  it("two machines cannot both hold it: the second is refused, told who holds it, since when, doing what, and how to break it", async () => {
    const held = await ann.acquire("fawkes release blog r2 --stack staging --target aws");
    const e = await refused(bo.acquire("fawkes rollback blog --to r1 --stack staging --target aws"));
    expect(e.lock).toEqual(held.lock);
    expect(e.stale).toBe(false);
    expect(e.message).toBe(
      `stack staging is locked by another rollout: "fawkes release blog r2 --stack staging --target aws" by ann@ann-laptop (pid 101 on ann-laptop) since ${new Date(T0 * 1000).toISOString()}, its lease renewed until ${new Date((T0 + 300) * 1000).toISOString()}.\n` +
        `Wait for it to finish. If that command died, its lease runs out by itself and the next command takes the lock over; if it is stuck, stop it first, then: fawkes lock break --stack staging --target aws --force`,
    );
    expect(item()?.Owner?.S).toBe(held.lock.token);
    await held.release();
    const mine = await bo.acquire("fawkes rollback blog --to r1 --stack staging --target aws");
    expect(item()?.Owner?.S).toBe(mine.lock.token);
    await mine.release();
  });

  it("an expired lease is taken over (a crashed laptop), and the taker is told whose it was; not a second before", async () => {
    const notes: string[] = [];
    const crashed = await ann.acquire("fawkes release blog r2 --stack staging --target aws");
    at(LEASE_SECONDS);
    await refused(bo.acquire("fawkes release blog r3 --stack staging --target aws"));
    expect(await bo.read()).toMatchObject({ stale: false });
    at(LEASE_SECONDS + 1);
    expect(await bo.read()).toEqual({ lock: crashed.lock, stale: true });
    const mine = await bo.acquire("fawkes release blog r3 --stack staging --target aws", (l) => notes.push(l));
    expect(item()?.Owner?.S).toBe(mine.lock.token);
    expect(notes).toEqual([
      `took over the deploy lock of stack staging from "fawkes release blog r2 --stack staging --target aws" by ann@ann-laptop (pid 101 on ann-laptop) since ${crashed.lock.since}: its lease ran out at ${crashed.lock.expiresAt}`,
    ]);
    await mine.release();
    await crashed.release();
  });

  it("renewal extends ExpiresAt by an UpdateItem conditional on Owner = me", async () => {
    const lease = (await ann.acquire("fawkes release blog r2 --stack staging --target aws")) as DynamoLease;
    at(RENEW_SECONDS);
    await lease.renew();
    expect(table.mock.commandCalls(UpdateItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: { [LOCK_KEY]: { S: "deploy" } },
      UpdateExpression: "SET #e = :until",
      ConditionExpression: "#o = :me",
      ExpressionAttributeNames: { "#e": "ExpiresAt", "#o": "Owner" },
      ExpressionAttributeValues: { ":until": { N: String(T0 + RENEW_SECONDS + LEASE_SECONDS) }, ":me": { S: lease.lock.token } },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(item()?.ExpiresAt).toEqual({ N: String(T0 + RENEW_SECONDS + LEASE_SECONDS) });
    // Past the first lease, the renewed one still holds the other machine off.
    at(LEASE_SECONDS + 1);
    await refused(bo.acquire("fawkes release blog r3 --stack staging --target aws"));
    expect(lease.lost.aborted).toBe(false);
    await lease.release();
  });

  it("renews on a timer while the work runs, and stops renewing once released", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"], now: T0 * 1000 });
    const lease = await dynamoDeployLock({ client, table: TABLE, stack: "staging" }).acquire("fawkes release blog r2 --stack staging --target aws");
    await vi.advanceTimersByTimeAsync(RENEW_SECONDS * 1000 - 1);
    expect(table.mock.commandCalls(UpdateItemCommand)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(RENEW_SECONDS * 1000);
    expect(table.mock.commandCalls(UpdateItemCommand)).toHaveLength(2);
    expect(item()?.ExpiresAt).toEqual({ N: String(T0 + 2 * RENEW_SECONDS + LEASE_SECONDS) });
    await lease.release();
    await vi.advanceTimersByTimeAsync(10 * RENEW_SECONDS * 1000);
    expect(table.mock.commandCalls(UpdateItemCommand)).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a renewal that finds another holder aborts the holder's work with an error naming who took it", async () => {
    let taker: DynamoLease | undefined;
    const work = holdDeployLock(ann, "fawkes release blog r2 --stack staging --target aws", async (lease) => {
      // The laptop slept through its renewals; another machine took the expired lease over.
      at(LEASE_SECONDS + 30);
      taker = (await bo.acquire("fawkes release blog r3 --stack staging --target aws")) as DynamoLease;
      await (lease as DynamoLease).renew();
      expect(lease.lost.aborted).toBe(true);
      return "done";
    });
    const e = await work.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DeployLockLostError);
    expect((e as Error).message).toBe(
      `stack staging: this command lost the deploy lock: "fawkes release blog r3 --stack staging --target aws" by bo@bo-laptop (pid 202 on bo-laptop) holds it since ${new Date((T0 + LEASE_SECONDS + 30) * 1000).toISOString()} (this command's lease ran out before it renewed it: was this machine asleep or offline?). This command stopped where it was; what it changed stays: see fawkes history and the stack's instance refreshes before releasing again`,
    );
    // Releasing ours deleted nothing of theirs.
    expect(item()?.Owner?.S).toBe(taker!.lock.token);
    const del = table.mock.commandCalls(DeleteItemCommand).at(-1)!.args[0].input;
    expect(del).toEqual({ TableName: TABLE, Key: { [LOCK_KEY]: { S: "deploy" } }, ConditionExpression: "#o = :me", ExpressionAttributeNames: { "#o": "Owner" }, ExpressionAttributeValues: { ":me": { S: expect.stringMatching(/^ann@ann-laptop:101:/) } } });
    await taker!.release();
    expect(item()).toBeUndefined();
  });

  it("release deletes only its own item: another's stays", async () => {
    const mine = await ann.acquire("fawkes release blog r2 --stack staging --target aws");
    at(LEASE_SECONDS + 1);
    const theirs = await bo.acquire("fawkes release blog r3 --stack staging --target aws");
    await mine.release();
    expect(item()?.Owner?.S).toBe(theirs.lock.token);
    await theirs.release();
    await theirs.release(); // once
    expect(table.mock.commandCalls(DeleteItemCommand)).toHaveLength(2);
  });

  it("a renewal DynamoDB does not answer is tried again, and the work is stopped before the lease can run out", async () => {
    const notes: string[] = [];
    const lease = (await ann.acquire("fawkes release blog r2 --stack staging --target aws", (l) => notes.push(l))) as DynamoLease;
    table.mock.on(UpdateItemCommand).rejects(Object.assign(new Error("connect ETIMEDOUT 52.94.1.1:443"), { name: "TimeoutError" }));
    at(RENEW_SECONDS);
    await lease.renew();
    expect(lease.lost.aborted).toBe(false);
    expect(notes.at(-1)).toBe(
      `could not renew the deploy lock of stack staging (dynamodb:UpdateItem on DynamoDB table ${TABLE}): TimeoutError: connect ETIMEDOUT 52.94.1.1:443; trying again in ${RENEW_SECONDS} s (the lease runs out at ${new Date((T0 + 300) * 1000).toISOString()})`,
    );
    at(LEASE_SECONDS - RENEW_SECONDS);
    await lease.renew();
    expect(lease.lost.aborted).toBe(true);
    expect(lease.lost.reason).toBeInstanceOf(DeployLockLostError);
    expect((lease.lost.reason as Error).message).toMatch(/^stack staging: this command lost the deploy lock: could not renew the deploy lock of stack staging \(dynamodb:UpdateItem on DynamoDB table acme-staging-locks\): TimeoutError: connect ETIMEDOUT 52\.94\.1\.1:443, and its lease runs out at \S+, before the next try\. This command stopped/);
    await lease.release();
  });

  it("fawkes lock break removes the holder it was shown, not one that took the lock since", async () => {
    const first = await ann.acquire("fawkes release blog r2 --stack staging --target aws");
    const seen = (await bo.read())!.lock;
    expect(await bo.break(seen)).toEqual(first.lock);
    expect(item()).toBeUndefined();
    const second = await ann.acquire("fawkes release blog r3 --stack staging --target aws");
    expect(await bo.break(seen)).toBeUndefined();
    expect(item()?.Owner?.S).toBe(second.lock.token);
    expect(table.mock.commandCalls(DeleteItemCommand).at(-1)!.args[0].input).toMatchObject({ ConditionExpression: "#o = :seen", ExpressionAttributeValues: { ":seen": { S: seen.token } } });
    await second.release();
    await first.release();
    expect(await bo.read()).toBeUndefined();
  });
});

describe("AWS errors, said plainly with the table", () => {
  it("no table: run pulumi up first", async () => {
    table.state.exists = false;
    const e = await ann.acquire("fawkes release blog r2 --stack staging --target aws").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeployLockError);
    expect((e as Error).message).toBe(
      `the deploy lock of stack staging is an item of DynamoDB table ${TABLE} (region eu-west-1), which does not exist: the stack makes it (pulumi up --stack staging), or the region or endpoint is not the stack's`,
    );
  });

  it("no permission: names the action, the table and the role that has it", async () => {
    table.state.denied = "arn:aws:sts::111122223333:assumed-role/fawkes-staging-viewer/ann";
    const e = await ann.acquire("fawkes release blog r2 --stack staging --target aws").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeployLockError);
    expect((e as Error).message).toBe(
      `not allowed to take the deploy lock of stack staging (dynamodb:PutItem on DynamoDB table ${TABLE}): the stack's deployer role may take, renew and release it. AWS said: AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/fawkes-staging-viewer/ann is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:111122223333:table/${TABLE} because no identity-based policy allows the dynamodb:PutItem action`,
    );
    expect((await ann.read().catch((x: unknown) => x)) as Error).toBeInstanceOf(DeployLockError);
  });
});
