// src/render: HostPlan -> HostImage (cloud-config user-data and every file a host boots from).
export { renderEnvironment, renderHostImage } from "./host-image.ts";
export { SHA256_PATTERN, STAND_IN_SUMS_VARIABLE, standInSum, standInSums, sumsOfPins, type PinnedRelease, type ReleaseSums } from "./release-sums.ts";
export { appLogFiles, CLOUDWATCH_AGENT_CONFIG_PATH, cloudWatchAgentFile, cloudWatchLogGroups, collectList, RECORD_START_PATTERN, type CollectedFile } from "./cloudwatch-agent.ts";
export { BUNDLE_PREFIX, bundleKey, filesOfBundle } from "./bundle.ts";
export { ec2UserDataProblems } from "./limits.ts";
export { CONSOLE_FETCH_PATH, CONSOLE_HOME, CONSOLE_PROJECT_DIR, CONSOLE_SERVICE_PATH, CONSOLE_START_PATH, CONSOLE_USER, consoleArgv, renderConsoleHost, type ConsoleHostArgs, type ConsoleHostImage } from "./console-host.ts";
export { shellWord, shellWords } from "./quote.ts";
export { USER_DATA_LIMIT, type HostBundle, type HostImage, type HostManifest, type RenderedFile } from "./types.ts";
export { DB_BOOTSTRAP_PATH, DB_DATA_ROOT, DB_LOCAL_ENV, renderDatabaseHost, type DatabaseHostImage } from "./database-host.ts";
export { BUILD_ENV, FAWKES_STEPS, IMAGE_MARKER_PATH, imageBuilderComponent, imageMarker, installArgv, STEP_SHELL_OPTIONS } from "./image-builder.ts";
