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

/**
 * moto 5.1.1's DescribeAutoScalingGroups template has `{% if ... %}}` where the group's launch
 * template is written: the stray `}` becomes text inside <LaunchTemplate>, and the SDK then reads
 * the group's LaunchTemplate as empty (no id, no version), which a release must read. Fixed as
 * moto's later releases have it.
 */
export const MOTO_GROUP_TEMPLATE_STEP: RecipeStep = {
  name: "moto-autoscaling-group-launch-template",
  run: [
    "f=/usr/lib/python3/dist-packages/moto/autoscaling/responses.py",
    "grep -q '{% if group.provided_launch_template_version %}}$' \"$f\"",
    "sed -i 's/{% if group.provided_launch_template_version %}}$/{% if group.provided_launch_template_version %}/' \"$f\"",
    "python3 -c 'import moto.autoscaling.responses'",
    "",
  ].join("\n"),
};

/**
 * moto 5.1.1's Service Quotas knows VPC quotas only and has no GetAWSDefaultServiceQuota, which
 * `check --target aws` asks for a quota the account never changed (as AWS answers it). The twin's
 * account gets EC2's default for Elastic IPs (5 per Region, AWS's documented default) and that
 * action, so the check asks the twin as it asks AWS.
 */
export const MOTO_DEFAULT_QUOTAS_STEP: RecipeStep = {
  name: "moto-servicequotas-aws-defaults",
  run: [
    "d=/usr/lib/python3/dist-packages/moto/servicequotas",
    "if grep -q get_aws_default_service_quota \"$d/models.py\"; then echo \"moto has GetAWSDefaultServiceQuota already: drop this step\" >&2; exit 1; fi",
    "cat >>\"$d/models.py\" <<'PY'",
    "",
    "",
    "# fawkes twin: EC2's default Elastic IP quota, and AWS's defaults by code (GetAWSDefaultServiceQuota).",
    "EC2_DEFAULT_QUOTAS = [{\"ServiceCode\": \"ec2\", \"ServiceName\": \"Amazon Elastic Compute Cloud (Amazon EC2)\", \"QuotaArn\": \"arn:aws:servicequotas:::ec2/L-0263D0A3\", \"QuotaCode\": \"L-0263D0A3\", \"QuotaName\": \"EC2-VPC Elastic IPs\", \"Value\": 5.0, \"Unit\": \"None\", \"Adjustable\": True, \"GlobalQuota\": False}]",
    "",
    "",
    "def get_aws_default_service_quota(self, service_code, quota_code):",
    "    for quota in {\"vpc\": VPC_DEFAULT_QUOTAS, \"ec2\": EC2_DEFAULT_QUOTAS}.get(service_code, []):",
    "        if quota[\"QuotaCode\"] == quota_code:",
    "            return quota",
    "    raise NoSuchResource",
    "",
    "",
    "ServiceQuotasBackend.get_aws_default_service_quota = get_aws_default_service_quota",
    "PY",
    "cat >>\"$d/responses.py\" <<'PY'",
    "",
    "",
    "def get_aws_default_service_quota(self):",
    "    params = json.loads(self.body)",
    "    quota = self.backend.get_aws_default_service_quota(str(params.get(\"ServiceCode\")), str(params.get(\"QuotaCode\")))",
    "    return json.dumps(dict(Quota=quota))",
    "",
    "",
    "ServiceQuotasResponse.get_aws_default_service_quota = get_aws_default_service_quota",
    "PY",
    "python3 -c 'import moto.servicequotas.responses as r; assert hasattr(r.ServiceQuotasResponse, \"get_aws_default_service_quota\")'",
    "",
  ].join("\n"),
};

export function servicesRecipe(recipe: Pick<ImageRecipe, "distribution" | "packages" | "steps">): Pick<ImageRecipe, "distribution" | "packages" | "steps"> {
  return { distribution: recipe.distribution, packages: [...recipe.packages, ...SERVICES_PACKAGES], steps: [...recipe.steps, MOTO_CREATED_TIME_STEP, MOTO_GROUP_TEMPLATE_STEP, MOTO_DEFAULT_QUOTAS_STEP] };
}

export async function ensureServicesImage(recipe: Pick<ImageRecipe, "distribution" | "packages" | "steps">, progress: Progress, home?: string): Promise<GoldenImage> {
  return ensureImage(imageOf(servicesRecipe(recipe), home), progress);
}
