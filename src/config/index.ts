// src/config: catalogue and knob schemas, layering, the two ways in (files, Pulumi config), and the
// one way out: writing a release pin into a stack file.
export { ALB_HEALTH_CODES, HEALTH_CHECK_USER_AGENT, HEALTH_CHECKER_AGENTS, HEALTH_METHODS, HealthSchema, HealthStatuses, statusAccepted, type Health, type HealthMethod } from "./health.ts";
export { CatalogueSchema, DATABASE_PASSWORD, DATABASE_RESERVED, type App, type Catalogue, type Process } from "./catalogue.ts";
export { DATABASE_PACKAGES, DISTRIBUTIONS, ImageRecipeSchema, RECIPE_FILE, REQUIRED_PACKAGES, type Distribution, type ImageRecipe, type RecipeStep } from "./recipe.ts";
export { ConfigError, formatProblem, type Problem } from "./errors.ts";
export { catalogueAppNames, listStacks, loadAllStacks, loadStack, readProject, readRecipe, stackFile, PROJECT_FILE, type LoadStackOptions, type ProjectFile } from "./files.ts";
export { ArtifactKnobsSchema, DatabaseKnobsSchema, DEFAULT_PARENT, KNOB_NAMES, KnobsSchema, NetworkKnobsSchema, RolloutSchema, type ArtifactKnobs, type DatabaseKnobs, type NetworkKnobs, type FleetSize, type Knobs, type Rollout } from "./knobs.ts";
export { AccessKnobsSchema, CONSOLE_ROLES, DEFAULT_ACCESS, ErrorMailKnobsSchema, GroupName, type AccessKnobs, type ConsoleRole, type ErrorMailKnobs } from "./console-knobs.ts";
export { APP_ONLY_KNOBS, ManagementConsoleSchema, MAX_MANAGED_STACKS, OidcKnobsSchema, type ManagementConsole, type OidcKnobs } from "./management-knob.ts";
export { AMI_ID, ARCHITECTURES, architectureMismatch, architectureOf, ImageKnobSchema, type Architecture, type ImageKnob } from "./image-knob.ts";
export { loadEnvironment, type ConfigLayer, type LoadInput } from "./load.ts";
export { setReleasePin, writeAtomically, type PinResult } from "./pin.ts";
export { durationSeconds } from "./primitives.ts";
export { loadFromPulumiConfig } from "./pulumi-config.ts";
export { deepFreeze, derivedUid, isQaEnvironment, templateOf, type EnvironmentSpec, type ResolvedApp, type ResolvedCatalogue } from "./spec.ts";
export { APP_LOG_NAMES, BASH_SPECIAL_NAMES, RELEASE_ENTRIES } from "./app-rules.ts";
export { MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH } from "./yaml-file.ts";
