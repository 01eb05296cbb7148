// The pure pieces of the components: rollout checkpoints, the host policy, user-data encoding.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostPolicyDocument, userDataBase64 } from "../../components/index.ts";
import { checkpointPercentages } from "../../src/model/index.ts";

describe("checkpointPercentages", () => {
  it.each([
    [10, 30, [10, 40, 70, 100]],
    [50, 100, [50, 100]],
    [50, 50, [50, 100]],
    [25, 25, [25, 50, 75, 100]],
    [100, 10, [100]],
    [1, 100, [1, 100]],
  ])("canary %i, batch %i -> %j", (canary, batch, expected) => {
    expect(checkpointPercentages(canary, batch)).toEqual(expected);
  });

  it("starts at the canary, steps by the batch, ends at 100, strictly ascending", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (canary, batch) => {
        const c = checkpointPercentages(canary, batch);
        expect(c[0]).toBe(canary);
        expect(c.at(-1)).toBe(100);
        for (let i = 1; i < c.length; i++) expect(c[i]! - c[i - 1]!).toBe(i < c.length - 1 ? batch : Math.min(batch, 100 - c[i - 1]!));
      }),
    );
  });

  it("refuses what is no percentage", () => {
    expect(() => checkpointPercentages(0, 10)).toThrow(RangeError);
    expect(() => checkpointPercentages(10, 101)).toThrow(RangeError);
  });
});

describe("hostPolicyDocument", () => {
  const doc = hostPolicyDocument({
    parameterPrefix: "/fawkes/dev",
    artifactBucketArn: "arn:aws:s3:::fawkes-dev-artifacts",
    lockTableArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/fawkes-dev-locks",
    fileSystemArn: "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-1",
    groupName: "fawkes-dev-web",
  }) as { Statement: Array<{ Effect: string; Action: string | string[]; Resource: string }> };

  it("allows only named actions on named resources: no wildcard action, no account-wide resource", () => {
    for (const s of doc.Statement) {
      expect(s.Effect).toBe("Allow");
      for (const a of [s.Action].flat()) expect(a).toMatch(/^[a-z0-9]+:[A-Za-z]+$/);
      expect(s.Resource).not.toBe("*");
    }
    expect(doc.Statement.find((s) => [s.Action].flat().includes("ssm:GetParameter"))?.Resource).toBe("arn:aws:ssm:*:*:parameter/fawkes/dev/*");
  });

  it("lets a host mark instances Unhealthy only in its own group", () => {
    expect(doc.Statement.filter((s) => [s.Action].flat().includes("autoscaling:SetInstanceHealth")).map((s) => s.Resource)).toEqual(["arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/fawkes-dev-web"]);
  });
});

describe("userDataBase64", () => {
  it("encodes the bytes given, whatever view of a buffer they are", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (bytes, pad) => {
        const padded = new Uint8Array(bytes.length + pad);
        padded.set(bytes, pad);
        expect(Buffer.from(userDataBase64(padded.subarray(pad)), "base64").equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });
});
