// The pinned image of a stack (knob image) and the CPU it needs: an AMI boots only on the
// architecture it was built for, so a stack's AMI and its instance type must agree, and `fawkes
// check` says so before AWS would.
import { z } from "zod";
import { pinText } from "./primitives.ts";

/** The CPU architectures of EC2 instances, as AMIs name them (`Architecture` of DescribeImages). */
export const ARCHITECTURES = ["x86_64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * Arm families without a `g` after the generation: a1 (the first Graviton) and the Apple-silicon
 * Macs (mac2, mac2-m2pro, mac-m4; arm64_mac to EC2, but arm64 is the nearest an AMI knob can say).
 */
const ARM_WITHOUT_G = /^(a1|mac2(-[a-z0-9]+)?|mac-m[a-z0-9]+)$/;

/**
 * The architecture of an instance type, from its family: Graviton families carry a `g` right after
 * the generation digit (m6g, m6gd, c7gn, r8g, t4g, x2gd, im4gn, is4gen, i4g, g5g, hpc7g); every
 * other family (m6i, m7a, c6in, g4dn, r6idn, x2iedn, t3a, u7i-12tb, …) is x86_64.
 */
export function architectureOf(instanceType: string): Architecture {
  const family = instanceType.split(".")[0]!.toLowerCase();
  if (ARM_WITHOUT_G.test(family)) return "arm64";
  const m = /^([a-z]+)(\d+)([a-z]*)/.exec(family);
  return m && m[3]!.startsWith("g") ? "arm64" : "x86_64";
}

/** An AMI id as EC2 issues them: `ami-` and 8 (older) or 17 lower-case hex digits. */
export const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** Why an AMI of `architecture` cannot boot on `instanceType`, or undefined when it can. */
export function architectureMismatch(instanceType: string, architecture: Architecture): string | undefined {
  const wanted = architectureOf(instanceType);
  if (architecture === wanted) return undefined;
  return `is "${architecture}", but instanceType "${instanceType}" is ${wanted}: an AMI boots only on the CPU architecture it was built for; pin an ${wanted} AMI or choose an ${architecture} instance type`;
}

/** A stack's pinned AMI: `up` boots exactly this image, so a new one is a previewed change, never a lookup's side effect. */
export const ImageKnobSchema = z.strictObject({
  ami: z
    .string()
    .regex(AMI_ID, { error: (i) => `must be an AMI id, "ami-" and 8 or 17 lower-case hex digits like "ami-0123456789abcdef0", got ${JSON.stringify(i.input)}` })
    .describe("The AMI every host of the stack boots: made by the stack's Image Builder pipeline from image/recipe.yaml, pinned here by hand."),
  architecture: z.enum(ARCHITECTURES).describe("The CPU architecture the AMI was built for; the stack's instanceType must have the same."),
  recipe: z
    .string({ error: pinText("the recipe hash the AMI was built from") })
    .regex(/^[0-9a-f]{8}$/, { error: (i) => `must be the recipe hash the AMI was built from, 8 hex digits (its fawkes:recipe tag; \`fawkes image list\` shows it), got ${JSON.stringify(i.input)}` })
    .describe("Hash of the image recipe the AMI was built from: `check` warns when it is not the current recipe's."),
});
export type ImageKnob = z.infer<typeof ImageKnobSchema>;
