import type { Problem } from "../config/index.ts";
import { USER_DATA_LIMIT, type HostImage } from "./types.ts";

/**
 * EC2 refuses user-data over 16 KiB, even gzipped. The local target has no such limit, so this is
 * a problem of the AWS path only: `fawkes check` and the Pulumi program report it.
 */
export function ec2UserDataProblems(images: readonly HostImage[]): Problem[] {
  return images
    .filter((img) => img.userDataBytes.length > USER_DATA_LIMIT)
    .map((img) => ({
      file: "Pulumi.yaml",
      path: "config.catalogue.value.apps",
      message: `the ${img.role} hosts' user-data is ${img.userDataBytes.length} bytes gzipped, over EC2's ${USER_DATA_LIMIT}-byte limit (${img.manifest.apps.length} apps on one role)`,
      hint: "split the apps over fewer per role or shorten their hooks and env",
    }));
}
