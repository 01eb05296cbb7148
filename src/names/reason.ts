/** A reason a person gives (why a stack is held): shown in messages, pages and lock files, so one line, bounded. */
export function reasonProblem(value: string): string | undefined {
  if (value.trim() === "") return "must say why";
  if (value.length > 200) return "must be at most 200 characters";
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) return "must be one line of text, without control characters";
  }
  return undefined;
}
