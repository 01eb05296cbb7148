import type { Problem } from "../config/index.ts";
import { USER_DATA_LIMIT, type HostImage } from "./types.ts";

/**
 * EC2 refuses user-data over 16 KiB, even gzipped. The user-data holds only the stage-1 script (the
 * apps' files are in the bundle, an S3 object of up to 5 GB), so its size does not depend on the
 * catalogue: past the limit is a fault of fawkes, reported by `fawkes check` and the Pulumi program.
 */
export function ec2UserDataProblems(images: readonly HostImage[]): Problem[] {
  return images
    .filter((img) => img.userDataBytes.length > USER_DATA_LIMIT)
    .map((img) => ({
      file: "Pulumi.yaml",
      path: "config.catalogue.value.apps",
      message: `the ${img.role} hosts' user-data is ${img.userDataBytes.length} bytes, over EC2's ${USER_DATA_LIMIT}-byte limit, although it holds only the stage-1 script (${img.manifest.apps.length} apps are in the bundle)`,
      hint: "this is a fault of fawkes, not of the catalogue: report it with `fawkes render` of this stack",
    }));
}
