// The rollout policy the local target follows, from the same knobs as AWS's instance refresh.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RolloutSchema } from "../../src/config/index.ts";
import { batchesOf, rolloutPolicy, RolloutPolicyError } from "../../src/model/index.ts";

const knobs = (r: Record<string, number>) => RolloutSchema.parse(r);

describe("rolloutPolicy", () => {
  it("replaces production's 3 web hosts canary first, then in batches, keeping full capacity", () => {
    // production: canary 10, batch 30, min 100, max 150 -> checkpoints 10, 40, 70, 100.
    const p = rolloutPolicy(3, knobs({ canaryPercent: 10, batchPercent: 30, minHealthyPercent: 100, maxHealthyPercent: 150 }));
    expect(p).toMatchObject({ size: 3, surge: 1, maxUnavailable: 0 });
    expect(p.steps).toEqual([
      { hosts: 1, checkpoint: true },
      { hosts: 1, checkpoint: true },
      { hosts: 1, checkpoint: false },
    ]);
  });

  it("splits a checkpoint's share into batches no bigger than the surge plus the hosts allowed out", () => {
    const p = rolloutPolicy(10, knobs({ canaryPercent: 10, batchPercent: 90, minHealthyPercent: 80, maxHealthyPercent: 120 }));
    expect(p).toMatchObject({ surge: 2, maxUnavailable: 2 });
    expect(p.steps.map((s) => s.hosts)).toEqual([1, 4, 4, 1]);
    expect(p.steps.map((s) => s.checkpoint)).toEqual([true, false, false, false]);
  });

  it("gives one host a surge of one (a new host boots beside it), and boots all at once with canary 100", () => {
    expect(rolloutPolicy(1, knobs({ maxHealthyPercent: 150 }))).toMatchObject({ surge: 1, steps: [{ hosts: 1, checkpoint: false }] });
    expect(rolloutPolicy(3, knobs({ canaryPercent: 100, maxHealthyPercent: 200 })).steps).toEqual([{ hosts: 3, checkpoint: false }]);
  });

  it("refuses knobs that leave no host replaceable, saying what would work", () => {
    expect(() => rolloutPolicy(1, knobs({ minHealthyPercent: 90, maxHealthyPercent: 100 }))).toThrow(RolloutPolicyError);
    expect(() => rolloutPolicy(1, knobs({ minHealthyPercent: 90, maxHealthyPercent: 100 }))).toThrow(/raise maxHealthyPercent above 100/);
    expect(rolloutPolicy(0, knobs({}))).toMatchObject({ steps: [] });
  });

  it("always replaces every host exactly once, never more at once than capacity allows", () => {
    // Only what Auto Scaling accepts (max - min <= 100) and leaves a host replaceable (max above 100, or min 0).
    const healthy = fc.integer({ min: 0, max: 99 }).chain((min) => fc.tuple(fc.constant(min), min === 0 ? fc.constant(100) : fc.integer({ min: 101, max: min + 100 })));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), healthy, (n, canary, batch, [min, max]) => {
        const p = rolloutPolicy(n, knobs({ canaryPercent: canary, batchPercent: batch, minHealthyPercent: min, maxHealthyPercent: max }));
        expect(p.steps.reduce((a, s) => a + s.hosts, 0)).toBe(n);
        for (const s of p.steps) expect(s.hosts).toBeLessThanOrEqual(p.surge + p.maxUnavailable);
        expect(p.steps.at(-1)!.checkpoint).toBe(false);
      }),
    );
  });

  it("batches a partial replacement (rebuild, rollback) by the same capacity", () => {
    const p = rolloutPolicy(4, knobs({ minHealthyPercent: 75, maxHealthyPercent: 125 }));
    expect(batchesOf(5, p)).toEqual([2, 2, 1]);
    expect(batchesOf(0, p)).toEqual([]);
  });
});
