// The image of a twin's services host: the stack's own recipe (so it is built from the same Debian
// 13 base, in the same way) plus what plays AWS's side: moto in server mode, an NFSv4.1 server
// (nfs-ganesha: the kernel here has no nfsd), dnsmasq for the twin's names and DHCP, and libnfs's
// client tools to prove a mount without a kernel NFS client. Nothing of it runs on the machine.
import type { ImageRecipe, RecipeStep } from "../config/index.ts";
import { ensureImage, imageOf, type GoldenImage } from "../local/image.ts";
import type { Progress } from "../local/steps.ts";

export const SERVICES_PACKAGES = ["python3-moto", "python3-flask-cors", "nfs-ganesha", "nfs-ganesha-vfs", "libnfs-utils", "dnsmasq-base"] as const;

/**
 * moto 5.1.1 (Debian 13) reports an Auto Scaling group's CreatedTime without a time zone
 * (`created_time.isoformat()` of a naive datetime); the AWS SDK for JavaScript refuses such a timestamp, so every
 * DescribeAutoScalingGroups fails. AWS sends UTC with Z; so does the patched moto.
 */
export const MOTO_CREATED_TIME_STEP: RecipeStep = {
  name: "moto-autoscaling-created-time-utc",
  run: [
    "f=/usr/lib/python3/dist-packages/moto/autoscaling/models.py",
    "grep -q '^        self.created_time = created_time.isoformat()$' \"$f\"",
    "grep -q '^from datetime import datetime$' \"$f\"",
    "sed -i -e 's/^        self.created_time = created_time.isoformat()$/        self.created_time = created_time.astimezone(timezone.utc).strftime(\"%Y-%m-%dT%H:%M:%S.000Z\")/' -e 's/^from datetime import datetime$/from datetime import datetime, timezone/' \"$f\"",
    "python3 -c 'import moto.autoscaling.models'",
    "",
  ].join("\n"),
};

export function servicesRecipe(recipe: Pick<ImageRecipe, "distribution" | "packages" | "steps">): Pick<ImageRecipe, "distribution" | "packages" | "steps"> {
  return { distribution: recipe.distribution, packages: [...recipe.packages, ...SERVICES_PACKAGES], steps: [...recipe.steps, MOTO_CREATED_TIME_STEP] };
}

export async function ensureServicesImage(recipe: Pick<ImageRecipe, "distribution" | "packages" | "steps">, progress: Progress, home?: string): Promise<GoldenImage> {
  return ensureImage(imageOf(servicesRecipe(recipe), home), progress);
}
