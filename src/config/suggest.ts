/** Levenshtein distance, small inputs only (config keys). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate to `key`, if it is close enough to be a plausible typo. */
export function closest(key: string, candidates: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const score = cl === k ? 0 : cl.includes(k) || k.includes(cl) ? 1 : editDistance(k, cl);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const budget = Math.max(2, Math.floor(key.length / 3));
  return bestScore <= budget ? best : undefined;
}

export function didYouMean(key: string, candidates: readonly string[]): string | undefined {
  const c = closest(key, candidates);
  return c === undefined ? undefined : `did you mean "${c}"?`;
}
