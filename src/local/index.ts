// src/local: the local target. Golden image, hosts (overlay + namespaces + real cloud-init),
// bridge network, HAProxy as the load balancer, and the stand-ins of S3, SSM and EFS.
export { appUrls, envOf, LocalTargetError } from "./fleet.ts";
export { localUp, requireLocalTarget, type UpResult } from "./up.ts";
export { ensureImage, fawkesHome, imageOf, isBuilt, listImages, pruneImages, type GoldenImage } from "./image.ts";
export { envLayout } from "./layout.ts";
export { appLogFiles, localRebuild, localStatus, type EnvStatus } from "./ops.ts";
export { preflightProblems } from "./preflight.ts";
export { localDown } from "./teardown.ts";
