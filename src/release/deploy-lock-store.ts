// The deploy lock of a stack: one command that changes the stack at a time. One interface, two
// places it lives, chosen by target (deploy-lock.ts: deployLockOf): a file on this machine for the
// local target (one machine, one kernel: O_EXCL is enough), an item with a lease in the stack's
// DynamoDB lock table on AWS (several machines; deploy-lock-dynamodb.ts).

/** Who holds a stack's deploy lock, since when, doing what. */
export interface DeployLock {
  stack: string;
  who: string;
  /** The holder's process on `machine`: a lock whose process is gone is stale. */
  pid: number;
  machine: string;
  since: string;
  command: string;
  /** Unique per acquisition, so that a holder recognises its own lock and no other. */
  token: string;
  /** AWS: when the holder's lease runs out unless renewed (ISO). A file lock has none. */
  expiresAt?: string;
  /**
   * Held by a person, not by a running command (`fawkes lock take`, the console's Take button): no
   * process to outlive, so never stale; it stays until `fawkes lock give-back` (or break).
   */
  held?: true;
  /** Held by hand: who, for good (the console's signed-in subject), so that only they give it back. */
  heldBy?: string;
}

/** A lock as read back; `stale`: its holder's process is gone (file), or its lease ran out (AWS). */
export interface HeldDeployLock {
  lock: DeployLock;
  stale: boolean;
}

/** The lock, held by this process. */
export interface DeployLease {
  lock: DeployLock;
  /** Aborted, with a DeployLockLostError, when the lock is no longer this process's: the work must stop. */
  lost: AbortSignal;
  /** Gives it back if it still is this process's; once; never throws (a failure is a note). */
  release(): Promise<void>;
}

/** Where a stack's deploy lock lives, and the four things done with it. */
export interface DeployLockStore {
  readonly stack: string;
  /** In words, for messages: the file, or the table and item. */
  readonly where: string;
  /** The command that breaks it, as a message tells a person to run it. */
  readonly breakCommand: string;
  read(): Promise<HeldDeployLock | undefined>;
  /** Takes it, or throws DeployLockedError naming the holder. `notify` hears what the holder should know. */
  acquire(command: string, notify?: (line: string) => void): Promise<DeployLease>;
  /** Removes it whoever holds it; with `seen`, only if that holder still does. Returns what it removed. */
  break(seen?: DeployLock): Promise<DeployLock | undefined>;
}

/** Another command holds the stack: the message names it and how to break a stale lock. */
export class DeployLockedError extends Error {
  constructor(
    readonly lock: DeployLock,
    readonly stale: boolean,
    breakCommand = `fawkes lock break --stack ${lock.stack}`,
  ) {
    const lease = lock.expiresAt !== undefined ? `, its lease renewed until ${lock.expiresAt}` : "";
    super(
      lock.held === true
        ? `stack ${lock.stack} is held by ${lock.who} since ${lock.since} (${lock.command}).\nAsk them; they give it back with: fawkes lock give-back --stack ${lock.stack}`
        : `stack ${lock.stack} is locked by another rollout: "${lock.command}" by ${lock.who} (pid ${lock.pid} on ${lock.machine}) since ${lock.since}${lease}` +
        (stale
          ? `.\nThat process is gone: the lock is stale. Check that no rollout runs, then break it with: ${breakCommand}`
          : lock.expiresAt !== undefined
            ? `.\nWait for it to finish. If that command died, its lease runs out by itself and the next command takes the lock over; if it is stuck, stop it first, then: ${breakCommand} --force`
            : `.\nWait for it to finish (fawkes history --stack ${lock.stack} shows it when it does), or, if it is stuck, stop that process and run: ${breakCommand}`),
    );
    this.name = "DeployLockedError";
  }
}

/** The lock stopped being this command's while it worked (AWS: the lease ran out and another took it). */
export class DeployLockLostError extends Error {
  constructor(stack: string, why: string) {
    super(`stack ${stack}: this command lost the deploy lock: ${why}. This command stopped where it was; what it changed stays: see fawkes history and the stack's instance refreshes before releasing again`);
    this.name = "DeployLockLostError";
  }
}

/** The lock could not be read, taken or given back for a reason of the place it lives in (no table, no permission). */
export class DeployLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeployLockError";
  }
}

/**
 * Holds the stack's deploy lock while `fn` runs, and gives it back whatever happens. `fn` gets the
 * lease: its `lost` signal aborts when the lock is taken from it, and long work stops on it. Work that
 * finished anyway still fails with DeployLockLostError: someone else held the stack meanwhile.
 */
export async function holdDeployLock<T>(store: DeployLockStore, command: string, fn: (lease: DeployLease) => Promise<T>, notify?: (line: string) => void): Promise<T> {
  const lease = await store.acquire(command, notify);
  let result: T;
  try {
    result = await fn(lease);
  } finally {
    await lease.release();
  }
  lease.lost.throwIfAborted();
  return result;
}
