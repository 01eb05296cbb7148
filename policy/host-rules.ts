// Rules on what a host is: IMDSv2, no public IP, encrypted disks, no secret in its user-data or bundle.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes, list, TIER_TAG, tierOf, truthy, TYPES } from "./resources";
import { decodeObject, decodeUserData, findSecrets } from "./secrets";

export const imdsv2Required: ResourceValidationPolicy = {
  name: "imdsv2-required",
  description:
    "Every way to start a host (launch template, instance, spot instance request, launch configuration) requires IMDSv2 tokens with a hop limit of 1, so nothing behind a host (a container, a proxy) can reach its credentials.",
  enforcementLevel: "mandatory",
  // An instance started from a launch template says so again: the policy cannot see the template it names.
  validateResource: forTypes([TYPES.launchTemplate, TYPES.instance, TYPES.spotInstanceRequest, TYPES.launchConfiguration], (p, report) => {
    const m = p.metadataOptions ?? {};
    if (m.httpEndpoint === "disabled") return;
    if (m.httpTokens !== "required") report(`metadataOptions.httpTokens is ${JSON.stringify(m.httpTokens)}; it must be "required" (IMDSv2 only)`);
    if (Number(m.httpPutResponseHopLimit) !== 1) report(`metadataOptions.httpPutResponseHopLimit is ${JSON.stringify(m.httpPutResponseHopLimit)}; it must be 1`);
  }),
};

const PRIVATE_HOSTS = "hosts live in private subnets and reach out through the NAT; set it false (and let the load balancer take the traffic)";

export const noPublicIpOnHosts: ResourceValidationPolicy = {
  name: "no-public-ip-on-hosts",
  description: `Hosts get no public IP: launch-template network interfaces, instances, spot instance requests and launch configurations never associate one, and only subnets tagged ${TIER_TAG}=public may map public IPs on launch.`,
  enforcementLevel: "mandatory",
  validateResource: [
    forTypes([TYPES.launchTemplate], (p, report) => {
      list(p.networkInterfaces).forEach((ni, i) => {
        if (truthy(ni?.associatePublicIpAddress)) report(`networkInterfaces[${i}].associatePublicIpAddress is true; ${PRIVATE_HOSTS}`);
      });
    }),
    forTypes([TYPES.instance, TYPES.spotInstanceRequest, TYPES.launchConfiguration], (p, report) => {
      if (truthy(p.associatePublicIpAddress)) report(`associatePublicIpAddress is true; ${PRIVATE_HOSTS}`);
    }),
    forTypes([TYPES.subnet], (p, report) => {
      if (truthy(p.mapPublicIpOnLaunch) && tierOf(p) !== "public") {
        report(`mapPublicIpOnLaunch is true on a subnet tagged ${TIER_TAG}=${JSON.stringify(tierOf(p) ?? null)}; only ${TIER_TAG}=public subnets may map public IPs`);
      }
    }),
  ],
};

export const ebsEncrypted: ResourceValidationPolicy = {
  name: "ebs-encrypted",
  description: "Every EBS volume (launch-template block devices, standalone volumes) is encrypted.",
  enforcementLevel: "mandatory",
  validateResource: [
    forTypes([TYPES.launchTemplate], (p, report) => {
      list(p.blockDeviceMappings).forEach((bd, i) => {
        if (bd?.ebs && !truthy(bd.ebs.encrypted)) report(`blockDeviceMappings[${i}] (${bd.deviceName ?? "?"}) is not encrypted; set ebs.encrypted "true"`);
      });
    }),
    forTypes([TYPES.volume], (p, report) => {
      if (!truthy(p.encrypted)) report("the volume is not encrypted");
    }),
  ],
};

function reportSecrets(source: string, text: string, report: (m: string) => void): void {
  for (const f of findSecrets(text)) {
    report(`${source} line ${f.line} holds what looks like ${f.what}; secrets never enter user-data or a host's bundle: hosts fetch them from SSM Parameter Store at boot`);
  }
}

export const noSecretsInUserData: ResourceValidationPolicy = {
  name: "no-secrets-in-user-data",
  description:
    "No user-data holds a secret-looking value (access key, private key, password, secret key, high-entropy token), after base64 and gzip are undone; " +
    "nor does any S3 object the stack declares, every file of a host's bundle (the tarball its user-data fetches) included.",
  enforcementLevel: "mandatory",
  validateResource: [
    forTypes([TYPES.launchTemplate], (p, report) => {
      if (typeof p.userData === "string") reportSecrets("user-data", decodeUserData(p.userData), report);
    }),
    forTypes([TYPES.instance], (p, report) => {
      if (typeof p.userData === "string") reportSecrets("user-data", p.userData, report);
      if (typeof p.userDataBase64 === "string") reportSecrets("user-data", decodeUserData(p.userDataBase64), report);
    }),
    // A bundle is user-data by another road: every host of the environment may read the bucket.
    forTypes(TYPES.bucketObjects, (p, report) => {
      const where = `s3 object ${typeof p.key === "string" ? p.key : "?"}`;
      if (typeof p.content === "string") reportSecrets(where, p.content, report);
      if (typeof p.contentBase64 === "string") {
        for (const f of decodeObject(p.contentBase64)) reportSecrets(f.path === "" ? where : `${where} file /${f.path}`, f.text, report);
      }
    }),
  ],
};
