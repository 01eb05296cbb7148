// How a secret value is written in the local store: one bash word that sourcing turns back into
// the value with nothing expanded. The bootstrap's local adapter (templates/
// fawkes-bootstrap-local.sh.hbs) checks each word against the same pattern and copies it as is
// into the app's secrets env file, which fawkes-exec sources. No word ever spans two lines.
import { shellWord } from "../render/quote.ts";

/**
 * A word as quoteSecret writes it: bare safe characters, '…' runs (no quote inside, so nothing
 * expands), \' for a quote and $'\n' for a line break. The bootstrap's LOCAL_SECRET_WORD is this
 * pattern; test/unit/secrets-store.test.ts holds the two equal.
 */
export const SECRET_WORD = /^([A-Za-z0-9_@%+=:,./-]|'[^']*'|\\'|\$'\\n')+$/;

const TOKEN = /[A-Za-z0-9_@%+=:,./-]+|'([^']*)'|\\'|\$'\\n'/y;

/** Why a value cannot be stored, or undefined when it can: bash strings cannot hold NUL. */
export function unquotableReason(value: string): string | undefined {
  if (value.includes("\u0000")) return "it contains a NUL character, which no environment variable can hold";
  return undefined;
}

/** The bash word of `value`: render's one bash quoting function, so the store and the host files agree. */
export function quoteSecret(value: string): string {
  const reason = unquotableReason(value);
  if (reason !== undefined) throw new Error(`a secret value cannot be stored: ${reason}`);
  return shellWord(value);
}

/** The value bash reads from a word quoteSecret wrote; undefined when `word` is not one. */
export function unquoteSecret(word: string): string | undefined {
  if (!SECRET_WORD.test(word)) return undefined;
  let value = "";
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < word.length) {
    const m = TOKEN.exec(word);
    if (!m) return undefined;
    const t = m[0];
    value += t === "\\'" ? "'" : t === "$'\\n'" ? "\n" : m[1] !== undefined ? m[1] : t;
  }
  return value;
}
