// `fawkes plan` on the environment's database: a change RDS cannot make in place replaces the
// instance and is flagged as a storage danger (the data would be lost); a resize is an update.
import { describe, expect, it } from "vitest";
import { planStack } from "../../src/plan/preview.ts";
import type { CapturedResource, Props } from "../../src/plan/program.ts";
import { replacingPaths, STORAGE_TYPES } from "../../src/plan/replacement.ts";

const RDS = "aws:rds/instance:Instance";
const r = (inputs: Props): CapturedResource => ({ type: RDS, name: "acme-database-instance", urn: "urn:db", id: "acme-dev-db", inputs, state: inputs, custom: true });
const base = { identifier: "acme-dev-db", engine: "postgres", engineVersion: "15", instanceClass: "db.t4g.micro", allocatedStorage: 20, storageEncrypted: true, username: "fawkes_admin" };

describe("the RDS instance in a plan", () => {
  it("is storage: replacing or deleting it loses the data", () => {
    expect(STORAGE_TYPES).toContain(RDS);
  });

  it.each([
    ["a new identifier", { identifier: "acme-dev-db2" }, "identifier"],
    ["another master user", { username: "root" }, "username"],
    ["encryption turned off", { storageEncrypted: false }, "storageEncrypted"],
    ["another engine", { engine: "mysql" }, "engine"],
    ["another key", { kmsKeyId: "arn:aws:kms:eu-west-1:1:key/other" }, "kmsKeyId"],
  ])("is replaced, a storage danger, for %s", (_what, change, field) => {
    const plan = planStack("acme", "dev", { resources: [r(base)] }, { resources: [r({ ...base, ...change })] });
    expect(plan.resources).toMatchObject([{ type: RDS, action: "replace", replacedBy: [field] }]);
    expect(plan.dangers.map((d) => d.kind)).toEqual(["storage"]);
  });

  it("is updated in place, with no danger, for the database knob's fields and a new minor or major version", () => {
    const knobs = { instanceClass: "db.m6g.large", allocatedStorage: 100, deletionProtection: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "acme-dev-db-final", backupRetentionPeriod: 35 };
    expect(replacingPaths(RDS, [...Object.keys(knobs), "engineVersion", "tags.Name"])).toEqual([]);
    const plan = planStack("acme", "dev", { resources: [r(base)] }, { resources: [r({ ...base, ...knobs })] });
    expect(plan.resources.map((c) => c.action)).toEqual(["update"]);
    expect(plan.dangers).toEqual([]);
  });

  it("knows its subnet and parameter groups", () => {
    expect(replacingPaths("aws:rds/subnetGroup:SubnetGroup", ["subnetIds", "name"])).toEqual(["name"]);
    expect(replacingPaths("aws:rds/parameterGroup:ParameterGroup", ["parameters[0].value", "family"])).toEqual(["family"]);
  });
});
