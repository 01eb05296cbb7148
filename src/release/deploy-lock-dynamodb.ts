// The deploy lock of a stack on AWS: one item of the stack's DynamoDB lock table (the table the
// hosts take their release-hook locks in, components/release-locks.ts), held with a lease. Several
// machines release to one stack, so the lock must live where they all see it, and a holder that
// crashed (a closed laptop) must not block the stack for ever: its lease runs out and the next
// command takes it over. The item has the shape of the hosts' locks (key, Owner, ExpiresAt in epoch
// seconds, put only if absent or expired), and adds who holds it, where, since when, doing what.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  type PutItemCommandInput,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { DEPLOY_LOCK_ITEM, LOCK_KEY } from "../model/index.ts";
import { DeployLockedError, DeployLockError, DeployLockLostError, type DeployLease, type DeployLock, type DeployLockStore, type HeldDeployLock } from "./deploy-lock-store.ts";
import { whoAmI } from "./history.ts";

/** 5 minutes: how long a crashed holder blocks the stack; ample beside the renewal below. */
export const LEASE_SECONDS = 300;
/** Every minute: four renewals may fail (a network blip) before the lease could run out. */
export const RENEW_SECONDS = 60;
export { DEPLOY_LOCK_ITEM };

type Item = Record<string, AttributeValue>;
const KEY = { [LOCK_KEY]: { S: DEPLOY_LOCK_ITEM } };
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** A lease of this implementation: `renew` is what the timer calls (tests call it with their clock). */
export type DynamoLease = DeployLease & { renew(): Promise<void> };

export interface DynamoDeployLockOptions {
  client: DynamoDBClient;
  table: string;
  stack: string;
  /** For messages only. */
  region?: string;
  /** The --target of `fawkes lock` that finds this lock: aws, or twin when the twin plays AWS. */
  target?: "aws" | "twin";
  /** Milliseconds since the epoch; tests pass a clock. Machines' clocks must agree to well within a lease (NTP). */
  now?: () => number;
  /** Who this process is; tests play two machines. */
  holder?: Pick<DeployLock, "who" | "machine" | "pid">;
}

const conditionFailed = (e: unknown) => (e as Error)?.name === "ConditionalCheckFailedException";

// The requests, as data. Their conditions are what DynamoDB evaluates, item by item, atomically.

/** Take: only if no one holds it, or the holder's lease ran out (the hosts' own condition). */
export function takeRequest(table: string, lock: DeployLock, now: number): PutItemCommandInput {
  return {
    TableName: table,
    Item: { ...KEY, Owner: { S: lock.token }, Who: { S: lock.who }, Machine: { S: lock.machine }, Pid: { N: String(lock.pid) }, Command: { S: lock.command }, AcquiredAt: { S: lock.since }, ExpiresAt: { N: String(now + LEASE_SECONDS) } },
    ConditionExpression: "attribute_not_exists(#k) OR #e < :now",
    ExpressionAttributeNames: { "#k": LOCK_KEY, "#e": "ExpiresAt" },
    ExpressionAttributeValues: { ":now": { N: String(now) } },
    // The lease taken over, to say whose; the holder that refused, without a second read.
    ReturnValues: "ALL_OLD",
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  };
}

/** Renew: a new lease, only while the lock is still this acquisition's. */
export function renewRequest(table: string, token: string, until: number): UpdateItemCommandInput {
  return {
    TableName: table,
    Key: KEY,
    UpdateExpression: "SET #e = :until",
    ConditionExpression: "#o = :me",
    ExpressionAttributeNames: { "#e": "ExpiresAt", "#o": "Owner" },
    ExpressionAttributeValues: { ":until": { N: String(until) }, ":me": { S: token } },
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  };
}

/** Give back (`:me`, this acquisition) or break (`:seen`, the holder a person was shown): that holder's item only. */
export function deleteRequest(table: string, token: string, as: ":me" | ":seen"): DeleteItemCommandInput {
  return { TableName: table, Key: KEY, ConditionExpression: `#o = ${as}`, ExpressionAttributeNames: { "#o": "Owner" }, ExpressionAttributeValues: { [as]: { S: token } }, ...(as === ":seen" ? { ReturnValues: "ALL_OLD" } : {}) };
}

export function dynamoDeployLock(o: DynamoDeployLockOptions): DeployLockStore & { acquire(command: string, notify?: (line: string) => void): Promise<DynamoLease> } {
  const { client, table, stack } = o;
  const now = () => Math.floor((o.now ?? Date.now)() / 1000);
  const holder = o.holder ?? { who: whoAmI(), machine: hostname(), pid: process.pid };
  const breakCommand = `fawkes lock break --stack ${stack} --target ${o.target ?? "aws"}`;
  const inTable = `DynamoDB table ${table}`;

  /** An AWS failure, said with the table: what was being done, and what would fix it. */
  const failure = (e: unknown, action: string, what: string): Error => {
    const err = e as Error;
    if (err.name === "ResourceNotFoundException") {
      return new DeployLockError(`the deploy lock of stack ${stack} is an item of ${inTable}${o.region ? ` (region ${o.region})` : ""}, which does not exist: the stack makes it (pulumi up --stack ${stack}), or the region or endpoint is not the stack's`);
    }
    if (err.name === "AccessDeniedException" || err.name === "UnrecognizedClientException" || err.name === "CredentialsProviderError") {
      return new DeployLockError(`not allowed to ${what} the deploy lock of stack ${stack} (dynamodb:${action} on ${inTable}): the stack's deployer role may take, renew and release it. AWS said: ${err.name}: ${err.message}`);
    }
    return new DeployLockError(`could not ${what} the deploy lock of stack ${stack} (dynamodb:${action} on ${inTable}): ${err.name}: ${err.message}`);
  };
  const send = async <T>(call: () => Promise<T>, action: string, what: string): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw conditionFailed(e) ? e : failure(e, action, what);
    }
  };
  const lockOf = (item: Item): DeployLock => ({
    stack,
    who: item.Who?.S ?? "unknown",
    pid: Number(item.Pid?.N ?? 0),
    machine: item.Machine?.S ?? "unknown",
    since: item.AcquiredAt?.S ?? "unknown",
    command: item.Command?.S ?? "unknown",
    token: item.Owner?.S ?? "",
    expiresAt: iso(Number(item.ExpiresAt?.N ?? 0)),
  });
  // Expired exactly as the conditional put judges it: ExpiresAt < now.
  const expired = (item: Item) => Number(item.ExpiresAt?.N ?? 0) < now();
  const getItem = async (what: string) => (await send(() => client.send(new GetItemCommand({ TableName: table, Key: KEY, ConsistentRead: true })), "GetItem", what)).Item;
  /** The item a failed condition found: DynamoDB returns it when asked, else read it. */
  const foundBy = async (e: unknown, what: string) => (e as { Item?: Item }).Item ?? (await getItem(what));
  const holderOf = (l: DeployLock) => `"${l.command}" by ${l.who} (pid ${l.pid} on ${l.machine})`;
  const read = async (): Promise<HeldDeployLock | undefined> => {
    const item = await getItem("read");
    return item ? { lock: lockOf(item), stale: expired(item) } : undefined;
  };

  function leaseOf(lock: DeployLock, notify: (line: string) => void): DynamoLease {
    const lost = new AbortController();
    let until = Date.parse(lock.expiresAt!) / 1000;
    let released = false;
    let renewing: Promise<void> | undefined;
    const renew = async () => {
      if (released || lost.signal.aborted) return;
      const t = now();
      try {
        await send(() => client.send(new UpdateItemCommand(renewRequest(table, lock.token, t + LEASE_SECONDS))), "UpdateItem", "renew");
        until = t + LEASE_SECONDS;
      } catch (e) {
        if (conditionFailed(e)) {
          const item = await foundBy(e, "read").catch(() => undefined);
          const taker = item && lockOf(item);
          const why = taker
            ? `${holderOf(taker)} holds it since ${taker.since} (this command's lease ran out before it renewed it: was this machine asleep or offline?)`
            : "it was removed (fawkes lock break --force?) while this command held it";
          lost.abort(new DeployLockLostError(stack, why));
        } else if (t + RENEW_SECONDS >= until) {
          // The next try would come too late: stop while no one else can hold the stack yet.
          lost.abort(new DeployLockLostError(stack, `${(e as Error).message}, and its lease runs out at ${iso(until)}, before the next try`));
        } else {
          notify(`${(e as Error).message}; trying again in ${RENEW_SECONDS} s (the lease runs out at ${iso(until)})`);
        }
      }
    };
    const timer = setInterval(() => {
      renewing ??= renew().finally(() => (renewing = undefined));
    }, RENEW_SECONDS * 1000);
    // The work keeps the process alive, not the lock.
    timer.unref?.();
    return {
      lock,
      lost: lost.signal,
      renew,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await renewing;
        try {
          await send(() => client.send(new DeleteItemCommand(deleteRequest(table, lock.token, ":me"))), "DeleteItem", "release");
        } catch (e) {
          // Not ours any more: someone took it over or broke it while the work ran.
          if (conditionFailed(e)) lost.abort(new DeployLockLostError(stack, "when it finished, the lock was another's or gone (taken over after its lease ran out, or broken)"));
          else notify(`${(e as Error).message}; the lock's lease runs out by itself at ${iso(until)}, or: ${breakCommand} --force`);
        }
      },
    };
  }

  return {
    stack,
    where: `${inTable}, item ${LOCK_KEY}=${DEPLOY_LOCK_ITEM}`,
    breakCommand,
    read,
    async acquire(command, notify = () => {}) {
      // A lock given back between a refused put and the read of its holder: try again, a few times.
      for (let attempt = 1; ; attempt++) {
        const t = now();
        const lock: DeployLock = { stack, ...holder, since: iso(t), command, token: `${holder.who}:${holder.pid}:${randomBytes(8).toString("hex")}`, expiresAt: iso(t + LEASE_SECONDS) };
        try {
          const out = await send(() => client.send(new PutItemCommand(takeRequest(table, lock, t))), "PutItem", "take");
          if (out.Attributes) {
            const old = lockOf(out.Attributes);
            notify(`took over the deploy lock of stack ${stack} from ${holderOf(old)} since ${old.since}: its lease ran out at ${old.expiresAt}`);
          }
          return leaseOf(lock, notify);
        } catch (e) {
          if (!conditionFailed(e)) throw e;
          const item = await foundBy(e, "read");
          if (item) throw new DeployLockedError(lockOf(item), false, breakCommand);
          if (attempt === 3) throw new DeployLockError(`could not take the deploy lock of stack ${stack} in ${inTable}: it changed hands ${attempt} times while fawkes tried`);
        }
      }
    },
    async break(seen) {
      const target = seen ?? (await read())?.lock;
      if (!target) return undefined;
      try {
        const out = await send(() => client.send(new DeleteItemCommand(deleteRequest(table, target.token, ":seen"))), "DeleteItem", "break");
        return out.Attributes ? lockOf(out.Attributes) : undefined;
      } catch (e) {
        if (conditionFailed(e)) return undefined;
        throw e;
      }
    },
  };
}
