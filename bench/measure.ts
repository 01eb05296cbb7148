// What every bench shares: medians, two measurements taken in turn, progress on stderr, and a
// goal printed beside its figure, met or not.

export const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
export const sec = (x: number) => x.toFixed(2);

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** "goal <= 1.5 s: met" or "NOT met": a figure's goal, said plainly beside it. */
export function goal(text: string, met: boolean): string {
  return `goal ${text}: ${met ? "met" : "NOT met"}`;
}

/**
 * Two measurements taken in turn `runs` times, so that the machine's noise hits both alike: the
 * median of each and the last run's extra figure (a size in bytes).
 */
export async function alternate(
  runs: number,
  a: () => Promise<{ ms: number; bytes: number }> | { ms: number; bytes: number },
  b: () => Promise<{ ms: number; bytes: number }> | { ms: number; bytes: number },
): Promise<{ a: number; b: number; aBytes: number; bBytes: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  let aBytes = 0;
  let bBytes = 0;
  for (let i = 0; i < runs; i++) {
    const x = await a();
    const y = await b();
    as.push(x.ms);
    bs.push(y.ms);
    aBytes = x.bytes;
    bBytes = y.bytes;
  }
  return { a: median(as), b: median(bs), aBytes, bBytes };
}
