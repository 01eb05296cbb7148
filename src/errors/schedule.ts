// The daily mail's clock: at the knob's `errorMail.at` (HH:MM, UTC) every day, while the process
// that started it (the console) runs. A day missed while nothing ran is not sent late; cron with
// `fawkes errors --stack S --mail` is the alternative.
import type { EnvironmentSpec } from "../config/index.ts";
import { DAY_MS, mailErrorDigest, type MailOutcome } from "./send.ts";
import type { ErrorTarget } from "./stack-source.ts";

/** A timer wakes at least this often, so that a clock set forward or a machine back from sleep is noticed. */
const MAX_SLEEP_MS = 3600_000;

/** The first moment strictly after `now` (epoch ms) at `at` ("HH:MM", UTC). */
export function nextMailAt(at: string, now: number): number {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(at);
  if (!m) throw new Error(`errorMail.at ${JSON.stringify(at)}: must be a time of day in UTC, "HH:MM"`);
  const day = new Date(now);
  const today = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), Number(m[1]), Number(m[2]));
  return today > now ? today : today + DAY_MS;
}

export interface ErrorMailScheduleOptions {
  spec: EnvironmentSpec;
  target: ErrorTarget;
  /** A mail that could not be sent, or a digest that could not be made (its notice may have gone out): the next day still runs. */
  onError: (error: Error, stack: string) => void;
  /** Each mail sent (a failure notice too), with what it said and to whom. */
  onSent?: (outcome: MailOutcome) => void;
  /** Tests: the clock, and what a run does (default: mailErrorDigest of the spec at that moment). */
  now?: () => number;
  run?: (now: number) => Promise<MailOutcome>;
}

/**
 * Starts the daily mail of one environment; returns the function that stops it. Without
 * recipients (`errorMail.to` empty) nothing is scheduled. Timers are unref'd: they never keep
 * the process alive.
 */
export function startErrorMailSchedule(opts: ErrorMailScheduleOptions): () => void {
  const { spec } = opts;
  const knob = spec.knobs.errorMail;
  if (knob.to.length === 0) return () => {};
  const now = opts.now ?? Date.now;
  const run = opts.run ?? ((at: number) => mailErrorDigest(spec, { target: opts.target, now: at }));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const fire = async () => {
    try {
      const outcome = await run(now());
      if (outcome.sent) opts.onSent?.(outcome);
      if (outcome.sent && outcome.failed !== undefined) opts.onError(new Error(`the traceback digest of ${spec.stack} failed: ${outcome.failed} (a mail saying so went to ${outcome.to.join(", ")})`), spec.stack);
    } catch (e) {
      opts.onError(e instanceof Error ? e : new Error(String(e)), spec.stack);
    }
  };
  const arm = (due: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      if (stopped) return;
      if (now() < due) return arm(due);
      // The next day is armed before this one's mail goes: a slow or failed send never skips it.
      arm(nextMailAt(knob.at, Math.max(now(), due)));
      void fire();
    }, Math.max(0, Math.min(due - now(), MAX_SLEEP_MS)));
    timer.unref();
  };
  arm(nextMailAt(knob.at, now()));
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
