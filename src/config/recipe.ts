import { z } from "zod";
import { DebianPackage } from "./primitives.ts";

/** The one image recipe of a project: the local golden image and the AWS AMI are both made from it. */
export const RECIPE_FILE = "image/recipe.yaml";

/** Debian releases a recipe may name, with their suite (debootstrap) and the name Debian's AMIs carry. */
export const DISTRIBUTIONS = {
  "debian-13": { suite: "trixie", amiName: "debian-13" },
} as const;
export type Distribution = keyof typeof DISTRIBUTIONS;

/**
 * Packages a host cannot boot without, and why: `check` refuses a recipe that lacks one (the
 * bootstrap would die at boot on the host that misses it, long after the preview).
 */
export const REQUIRED_PACKAGES: Readonly<Record<string, string>> = {
  "ca-certificates": "TLS to the AWS APIs, the database and the artifact store",
  "cloud-init": "it boots every host from the user-data",
  curl: "the bootstrap's calls to supervisord's socket and the health checks",
  iproute2: "the host's addresses",
  "netcat-openbsd": "systemd's units (and a local host's pid 1) release cloud-init's stages with nc",
  "nginx-light": "it serves every web app in front of gunicorn",
  python3: "the apps' venvs and cloud-init",
  "python3-venv": "fawkes build makes each release's venv in the image",
  "python3-packaging": "fawkes build reads requirements in the image",
  supervisor: "it runs every process of every app",
  awscli: "the AWS bootstrap reaches S3, SSM and DynamoDB with it",
  "nfs-common": "shared dirs are NFSv4.1 mounts of EFS",
  stunnel4: "EFS mounts are encrypted in transit",
};
/** Packages an image must have once an app has a database: the local db host's server, every host's psql and pg_dump. */
export const DATABASE_PACKAGES: readonly string[] = ["postgresql", "postgresql-client"];

const StepName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a step name in lower case with '-', like \"disable-package-services\"");

export const RecipeStepSchema = z.strictObject({
  name: StepName.describe("What the step does, in a name: the Image Builder step and the local build's progress line."),
  run: z
    .string()
    .min(1)
    .refine((s) => !s.includes("{{"), "must not contain \"{{\": EC2 Image Builder reads {{ ... }} in a component as its own variables, so the AMI would not run the script as written")
    .describe("A bash script run as root inside the image after its packages are installed."),
});
export type RecipeStep = z.infer<typeof RecipeStepSchema>;

export const ImageRecipeSchema = z
  .strictObject({
    distribution: z.enum(Object.keys(DISTRIBUTIONS) as [Distribution, ...Distribution[]]).describe("Debian release of every host, whatever the machine fawkes runs on."),
    parentImage: z
      .strictObject({
        owners: z.array(z.string().regex(/^(\d{12}|self|amazon)$/, "must be an AWS account id (12 digits), \"self\" or \"amazon\"")).min(1),
        namePattern: z.string().min(1).regex(/^[A-Za-z0-9*?._()/ -]+$/, "must be an AMI name pattern, like \"debian-13-amd64-*\""),
      })
      .describe("The AMI EC2 Image Builder starts from on AWS: Debian's official one, found by owner and name."),
    packages: z.array(DebianPackage).min(1).describe("Every Debian package of the image, on both targets."),
    steps: z.array(RecipeStepSchema).default([]).describe("Scripts run in the image after its packages, in order, on both targets."),
  })
  .superRefine((r, ctx) => {
    const seen = new Map<string, number>();
    r.packages.forEach((p, i) => {
      if (seen.has(p)) ctx.addIssue({ code: "custom", path: ["packages", i], message: `duplicate package "${p}" (also packages[${seen.get(p)}])` });
      else seen.set(p, i);
    });
    for (const [p, why] of Object.entries(REQUIRED_PACKAGES)) {
      if (!seen.has(p)) ctx.addIssue({ code: "custom", path: ["packages"], message: `lacks "${p}", which every host needs: ${why}` });
    }
    const names = new Map<string, number>();
    r.steps.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: "custom", path: ["steps", i, "name"], message: `duplicate step "${s.name}" (also steps[${names.get(s.name)}])` });
      else names.set(s.name, i);
    });
  });
export type ImageRecipe = z.infer<typeof ImageRecipeSchema>;
