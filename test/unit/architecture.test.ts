// Instance type -> CPU architecture, and the image knob that must agree with it: an AMI boots only
// on the architecture it was built for, and `fawkes check` says so before AWS would.
import { describe, expect, it } from "vitest";
import { AMI_ID, architectureOf, KnobsSchema } from "../../src/config/index.ts";

describe("architectureOf", () => {
  it.each([
    // Graviton: a `g` right after the generation, with or without more letters.
    ["m6g.large", "arm64"],
    ["m7g.xlarge", "arm64"],
    ["c7g.medium", "arm64"],
    ["t4g.small", "arm64"],
    ["r8g.2xlarge", "arm64"],
    ["m6gd.large", "arm64"],
    ["x2gd.metal", "arm64"],
    ["im4gn.large", "arm64"],
    ["is4gen.medium", "arm64"],
    ["c7gn.16xlarge", "arm64"],
    ["g5g.xlarge", "arm64"],
    ["hpc7g.4xlarge", "arm64"],
    ["a1.medium", "arm64"],
    ["a1.metal", "arm64"],
    ["mac2-m2pro.metal", "arm64"],
    // Intel and AMD, GPUs whose family starts with g, and the odd names.
    ["t3.small", "x86_64"],
    ["t3a.nano", "x86_64"],
    ["m6i.large", "x86_64"],
    ["m7a.large", "x86_64"],
    ["c6in.xlarge", "x86_64"],
    ["g4dn.xlarge", "x86_64"],
    ["g5.xlarge", "x86_64"],
    ["r6idn.large", "x86_64"],
    ["x2iedn.xlarge", "x86_64"],
    ["m7i-flex.large", "x86_64"],
    ["u7i-12tb.224xlarge", "x86_64"],
    ["inf2.xlarge", "x86_64"],
    ["mac1.metal", "x86_64"],
  ])("%s is %s", (type, arch) => {
    expect(architectureOf(type)).toBe(arch);
  });
});

describe("AMI ids", () => {
  it("are ami- and 8 or 17 lower-case hex digits", () => {
    for (const ok of ["ami-0123456789abcdef0", "ami-1a2b3c4d"]) expect(AMI_ID.test(ok), ok).toBe(true);
    for (const bad of ["ami-12345", "ami-0123456789ABCDEF0", "ami-0123456789abcdef", "ami-0123456789abcdef01", "ami-0123456789abcdeg0", "0123456789abcdef0", " ami-1a2b3c4d"]) {
      expect(AMI_ID.test(bad), bad).toBe(false);
    }
  });
});

describe("the image knob", () => {
  const knobs = (extra: Record<string, unknown>) => KnobsSchema.safeParse({ domain: "dev.acme.test", ...extra });
  const image = (architecture: string) => ({ ami: "ami-0123456789abcdef0", architecture, recipe: "0badc0de" });

  it("is optional: a stack without it runs on the local target", () => {
    const r = knobs({});
    expect(r.success).toBe(true);
    expect(r.data?.image).toBeUndefined();
  });

  it("must match the instance type's architecture, naming both knobs and their values", () => {
    expect(knobs({ instanceType: "t4g.small", image: image("arm64") }).success).toBe(true);
    expect(knobs({ image: image("x86_64") }).success).toBe(true); // the default t3.small
    const r = knobs({ instanceType: "t3.small", image: image("arm64") });
    expect(r.error?.issues).toEqual([
      expect.objectContaining({ path: ["image", "architecture"], message: expect.stringMatching(/^is "arm64", but instanceType "t3\.small" is x86_64: .*pin an x86_64 AMI or choose an arm64 instance type$/) }),
    ]);
  });

  it("is cross-checked even when another knob is wrong: every problem at once", () => {
    const r = knobs({ domain: "Not_A_Domain", instanceType: "c7g.large", image: image("x86_64") });
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["domain", "image.architecture"]);
  });

  it("is not cross-checked when the instance type or the image itself is malformed: one problem, not a guess", () => {
    expect(knobs({ instanceType: "nope", image: image("arm64") }).error?.issues.map((i) => i.path.join("."))).toEqual(["instanceType"]);
    expect(knobs({ instanceType: "t4g.small", image: { ...image("x86_64"), ami: "ami-1" } }).error?.issues.map((i) => i.path.join("."))).toEqual(["image.ami"]);
  });

  it("takes only an architecture EC2 names and an 8-hex-digit recipe hash", () => {
    const r = knobs({ image: { ami: "ami-0123456789abcdef0", architecture: "amd64", recipe: "12345" } });
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["image.architecture", "image.recipe"]);
    expect(r.error?.issues[1]?.message).toContain('got "12345"');
  });
});
