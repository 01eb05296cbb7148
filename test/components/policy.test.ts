// The policy pack's rules: every stack passes them, and each rule catches a resource built to
// break it. The pack itself (policy/index.ts) is never constructed: it would start a server.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ACCESS_TAG as COMPONENT_ACCESS_TAG, TIER_TAG as COMPONENT_TIER_TAG } from "../../components/index.ts";
import * as rules from "../../policy/rules.ts";
import { bundleOf } from "../../src/render/bundle.ts";
import { filesOfBundle } from "../../src/render/index.ts";
import { captureEveryStack, ROOT, type StackGraph } from "./harness.ts";
import { stackResources, stackViolationsOf, violationsOf, type PolicyInput } from "./policy-harness.ts";

const { TYPES, TIER_TAG } = rules;
let graphs: StackGraph[];
beforeAll(async () => {
  graphs = await captureEveryStack();
});

const lt = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.launchTemplate, name: "bad-template", props });
const b64 = (text: string, gzip = false) => (gzip ? gzipSync(Buffer.from(text)) : Buffer.from(text)).toString("base64");

describe("the policy pack", () => {
  it("is a project of its own: PulumiPolicy.yaml, a versioned package.json, mandatory rules with distinct names", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "policy/package.json"), "utf8"));
    expect(pkg).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), type: "commonjs", dependencies: { "@pulumi/policy": expect.any(String), "@pulumi/pulumi": expect.any(String) } });
    expect(parseYaml(readFileSync(join(ROOT, "policy/PulumiPolicy.yaml"), "utf8")).runtime).toBe("nodejs");
    expect(readFileSync(join(ROOT, "policy/index.ts"), "utf8")).toContain('new PolicyPack("fawkes-security", { policies })');
    expect(new Set(rules.policies.map((p) => p.name)).size).toBe(rules.policies.length);
    for (const p of rules.policies) expect(p.enforcementLevel, p.name).toBe("mandatory");
    expect(TIER_TAG).toBe(COMPONENT_TIER_TAG);
    expect(rules.ACCESS_TAG).toBe(COMPONENT_ACCESS_TAG);
  });

  it("passes every resource of every stack", async () => {
    for (const g of graphs) {
      for (const policy of rules.resourcePolicies) {
        for (const r of g.resources) expect(await violationsOf(policy, { ...r, props: r.inputs }), `${g.spec.stack}: ${policy.name} on ${r.name}`).toEqual([]);
      }
      for (const policy of rules.stackPolicies) expect(await stackViolationsOf(policy, stackResources(g.resources)), `${g.spec.stack}: ${policy.name}`).toEqual([]);
    }
  });
});

describe("each rule catches what it forbids", () => {
  it("imdsv2-required: optional tokens, a hop limit of 2, no metadata options at all", async () => {
    expect(await violationsOf(rules.imdsv2Required, lt({ metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 2 } }))).toEqual([
      expect.stringContaining('httpTokens is "optional"'),
      expect.stringContaining("httpPutResponseHopLimit is 2"),
    ]);
    expect(await violationsOf(rules.imdsv2Required, lt({}))).toHaveLength(2);
  });

  it("no-public-ip-on-hosts: a public IP on the template, public IPs mapped in a private subnet", async () => {
    expect(await violationsOf(rules.noPublicIpOnHosts, lt({ networkInterfaces: [{ associatePublicIpAddress: "true" }] }))).toHaveLength(1);
    const subnet = (tier: string): PolicyInput => ({ type: TYPES.subnet, name: "s", props: { mapPublicIpOnLaunch: true, tags: { [TIER_TAG]: tier } } });
    expect(await violationsOf(rules.noPublicIpOnHosts, subnet("private"))).toEqual([expect.stringContaining(`only ${TIER_TAG}=public subnets`)]);
    expect(await violationsOf(rules.noPublicIpOnHosts, subnet("public"))).toEqual([]);
  });

  it("ebs-encrypted: an unencrypted root volume, an unencrypted standalone volume", async () => {
    expect(await violationsOf(rules.ebsEncrypted, lt({ blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }] }))).toHaveLength(1);
    expect(await violationsOf(rules.ebsEncrypted, { type: TYPES.volume, name: "v", props: { size: 8 } })).toHaveLength(1);
  });

  it("efs-encrypted: a file system at rest in the clear", async () => {
    expect(await violationsOf(rules.efsEncrypted, { type: TYPES.fileSystem, name: "fs", props: { encrypted: false } })).toHaveLength(1);
  });

  it("s3-public-access-blocked: one flag left off", async () => {
    const props = { bucket: "b", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: false };
    expect(await violationsOf(rules.s3PublicAccessBlocked, { type: TYPES.publicAccessBlock, name: "pab", props })).toEqual([expect.stringContaining("restrictPublicBuckets is not true")]);
  });

  it("s3-encrypted: no rule, or no real algorithm", async () => {
    const sse = (rulesProp: unknown[]): PolicyInput => ({ type: TYPES.encryption, name: "sse", props: { bucket: "b", rules: rulesProp } });
    expect(await violationsOf(rules.s3Encrypted, sse([]))).toHaveLength(1);
    expect(await violationsOf(rules.s3Encrypted, sse([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "none" } }]))).toHaveLength(1);
  });

  it("s3-buckets-protected: a bucket without its public access block, a bucket without encryption", async () => {
    const g = graphs[0]!;
    const without = (type: string) => stackResources(g.resources.filter((r) => r.type !== type));
    expect(await stackViolationsOf(rules.s3BucketsProtected, without(TYPES.publicAccessBlock))).toEqual([expect.stringContaining("has no public access block")]);
    expect(await stackViolationsOf(rules.s3BucketsProtected, without(TYPES.encryption))).toEqual([expect.stringContaining("has no default encryption")]);
    const stray: PolicyInput = { type: TYPES.bucket, name: "stray", props: { bucket: "stray-bucket" } };
    expect(await stackViolationsOf(rules.s3BucketsProtected, stackResources([...g.resources, stray]))).toHaveLength(2);
  });

  it("no-open-ingress: SSH from anywhere, the load balancer on another port, ::/0 inline, an untaggable rule", async () => {
    const rule = (tier: string, port: number, cidr = "0.0.0.0/0"): PolicyInput => ({
      type: TYPES.ingressRule, name: "r", props: { ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: cidr, tags: { [TIER_TAG]: tier } },
    });
    expect(await violationsOf(rules.noOpenIngress, rule("hosts", 22))).toEqual([expect.stringContaining(`tagged ${TIER_TAG}=alb`)]);
    expect(await violationsOf(rules.noOpenIngress, rule("alb", 8080))).toHaveLength(1);
    expect(await violationsOf(rules.noOpenIngress, rule("alb", 443))).toEqual([]);
    expect(await violationsOf(rules.noOpenIngress, rule("hosts", 8001, "10.40.0.0/16"))).toEqual([]);
    const inline: PolicyInput = { type: TYPES.securityGroup, name: "sg", props: { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, ipv6CidrBlocks: ["::/0"] }] } };
    expect(await violationsOf(rules.noOpenIngress, inline)).toHaveLength(1);
    const legacy: PolicyInput = { type: TYPES.legacyRule, name: "old", props: { type: "ingress", protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] } };
    expect(await violationsOf(rules.noOpenIngress, legacy)).toHaveLength(1);
  });

  it("open-ingress-only-on-alb-group: an open rule tagged alb on the hosts' group", async () => {
    const g = graphs[0]!;
    const hostsGroup = g.resources.find((r) => r.type === TYPES.securityGroup && r.inputs.tags[TIER_TAG] === "hosts")!;
    const sneaky: PolicyInput = {
      type: TYPES.ingressRule, name: "sneaky",
      props: { securityGroupId: hostsGroup.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0", tags: { [TIER_TAG]: "alb" } },
    };
    expect(await stackViolationsOf(rules.openIngressOnlyOnAlbGroup, stackResources([...g.resources, sneaky]))).toEqual([expect.stringContaining("the open ingress rule sneaky")]);
  });

  it("alb-drops-invalid-headers: an ALB that forwards them", async () => {
    const lb = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.loadBalancers[0], name: "lb", props });
    expect(await violationsOf(rules.albDropsInvalidHeaders, lb({ dropInvalidHeaderFields: false }))).toHaveLength(1);
    expect(await violationsOf(rules.albDropsInvalidHeaders, lb({}))).toHaveLength(1);
    expect(await violationsOf(rules.albDropsInvalidHeaders, lb({ loadBalancerType: "network" }))).toEqual([]);
  });

  describe("no-secrets-in-user-data", () => {
    const real = () => graphs[0]!.resources.find((r) => r.type === TYPES.launchTemplate)!.inputs.userData as string;
    const withLine = (line: string, gzip = false) => lt({ userData: b64(`${rules.decodeUserData(real())}\n${line}\n`, gzip) });
    const token = () => randomBytes(24).toString("base64url");
    const secrets: Record<string, string> = {
      "an AWS access key id": "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
      "a private key": ["-----BEGIN", "RSA PRIVATE KEY-----"].join(" "),
      "a password": "  db_password: hunter2hunter2",
      "a secret key": "SECRET_KEY=django-insecure-abc",
      "a high-entropy value": `STRIPE_API_TOKEN="${token()}"`,
    };
    it.each(Object.entries(secrets))("catches %s, in plain or gzipped user-data", async (what, line) => {
      for (const gzip of [false, true]) expect(await violationsOf(rules.noSecretsInUserData, withLine(line, gzip))).toEqual([expect.stringContaining(what)]);
    });

    // The bundle a host's stage 1 fetches carries what user-data used to: a secret there is as bad.
    const realBundle = () => graphs[0]!.resources.find((r) => TYPES.bucketObjects.includes(r.type as never))!;
    const withBundleLine = (path: string, line: string): PolicyInput => {
      const files = filesOfBundle(Buffer.from(realBundle().inputs.contentBase64 as string, "base64"));
      expect(files.map((f) => f.path)).toContain(path);
      const bundle = bundleOf(files.map((f) => (f.path === path ? { ...f, content: `${f.content}${line}\n` } : f)));
      return { type: TYPES.bucketObjects[0], name: "bad-bundle", props: { key: bundle.key, contentBase64: Buffer.from(bundle.bytes).toString("base64") } };
    };
    it.each(Object.entries(secrets))("catches %s in a file of a host's bundle, naming the object and the file", async (what, line) => {
      const path = "/usr/local/sbin/fawkes-bootstrap";
      expect(await violationsOf(rules.noSecretsInUserData, withBundleLine(path, line))).toEqual([expect.stringMatching(new RegExp(`^s3 object _bundles/[0-9a-f]{64}\\.tar\\.gz file ${path} line \\d+ holds what looks like ${what}`))]);
    });

    it("scans each real bundle, and a plain or gzipped object that is no tarball", async () => {
      const bundles = graphs.flatMap((g) => g.resources.filter((r) => TYPES.bucketObjects.includes(r.type as never)));
      expect(bundles.length).toBeGreaterThanOrEqual(2 * graphs.length);
      for (const b of bundles) expect(rules.decodeObject(b.inputs.contentBase64 as string).map((f) => f.path)).toContain("usr/local/sbin/fawkes-bootstrap");
      for (const gzip of [false, true]) {
        const object: PolicyInput = { type: TYPES.bucketObjects[0], name: "notes", props: { key: "notes.txt", contentBase64: b64(secrets["a password"]!, gzip) } };
        expect(await violationsOf(rules.noSecretsInUserData, object)).toEqual([expect.stringContaining("s3 object notes.txt line 1 holds what looks like a password")]);
      }
      const plain: PolicyInput = { type: TYPES.bucketObjects[1], name: "legacy", props: { key: "k", content: secrets["an AWS access key id"] } };
      expect(await violationsOf(rules.noSecretsInUserData, plain)).toEqual([expect.stringContaining("an AWS access key id")]);
    });

    it("leaves secret names and where to fetch them alone", async () => {
      const references = [
        "DJANGO_SECRET_KEY: /fawkes/dev/blog/DJANGO_SECRET_KEY",
        'password="$DB_PASSWORD"',
        "SECRET_NAMES=(SHOP_SECRET_KEY)",
        "SHOP_API_TOKEN=${SHOP_API_TOKEN}",
        // The bootstrap's database steps: a shell expansion with an empty default, a psql variable.
        `printf '%s' "\${DATABASE_PASSWORD:-}"`,
        `ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw';`,
      ];
      for (const line of references) expect(await violationsOf(rules.noSecretsInUserData, withLine(line)), line).toEqual([]);
    });

    it("still catches a password given as a shell default or after SQL's PASSWORD", async () => {
      expect(await violationsOf(rules.noSecretsInUserData, withLine('DB="${DATABASE_PASSWORD:-hunter2hunter2}"'))).toEqual([expect.stringContaining("a password")]);
      expect(await violationsOf(rules.noSecretsInUserData, withLine("ALTER ROLE blog WITH PASSWORD :hunter2;"))).toEqual([expect.stringContaining("a password")]);
    });
  });
});

describe("the rules on what issue 7 adds catch what they forbid", () => {
  const without = (g: StackGraph, drop: (r: StackGraph["resources"][number]) => boolean) => stackResources(g.resources.filter((r) => !drop(r)));
  const withExtra = (g: StackGraph, ...extra: PolicyInput[]) => stackResources([...g.resources, ...extra]);

  it("sqs-encrypted: a queue without SSE; a KMS key is enough", async () => {
    const queue = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.queue, name: "q", props: { name: "q", ...props } });
    expect(await violationsOf(rules.sqsEncrypted, queue({}))).toEqual([expect.stringContaining("sqsManagedSseEnabled")]);
    expect(await violationsOf(rules.sqsEncrypted, queue({ sqsManagedSseEnabled: false }))).toHaveLength(1);
    expect(await violationsOf(rules.sqsEncrypted, queue({ kmsMasterKeyId: "alias/aws/sqs" }))).toEqual([]);
  });

  it("log-retention-set: a log group kept forever, by default or by 0", async () => {
    const group = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.logGroup, name: "lg", props: { name: "/x", ...props } });
    expect(await violationsOf(rules.logRetentionSet, group({}))).toEqual([expect.stringContaining("logRetentionDays")]);
    expect(await violationsOf(rules.logRetentionSet, group({ retentionInDays: 0 }))).toHaveLength(1);
    expect(await violationsOf(rules.logRetentionSet, group({ retentionInDays: 30 }))).toEqual([]);
  });

  it("file-systems-backed-up: no selection, a selection of something else, a second file system; a wildcard selection covers", async () => {
    const g = graphs[0]!;
    const fs = g.resources.find((r) => r.type === TYPES.fileSystem)!;
    expect(await stackViolationsOf(rules.fileSystemsBackedUp, without(g, (r) => r.type === TYPES.backupSelection))).toEqual([expect.stringContaining(`file system ${fs.name} is in no AWS Backup selection`)]);
    const other: PolicyInput = { type: TYPES.backupSelection, name: "other", props: { resources: ["arn:aws:dynamodb:eu-west-1:123456789012:table/x"] } };
    expect(await stackViolationsOf(rules.fileSystemsBackedUp, stackResources([...g.resources.filter((r) => r.type !== TYPES.backupSelection), other]))).toHaveLength(1);
    const stray: PolicyInput = { type: TYPES.fileSystem, name: "stray", props: { encrypted: true, arn: "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-stray" } };
    expect(await stackViolationsOf(rules.fileSystemsBackedUp, withExtra(g, stray))).toEqual([expect.stringContaining("file system stray")]);
    const every: PolicyInput = { type: TYPES.backupSelection, name: "every", props: { resources: ["arn:aws:elasticfilesystem:*:*:file-system/*"] } };
    expect(await stackViolationsOf(rules.fileSystemsBackedUp, withExtra(g, stray, every))).toEqual([]);
  });

  it("file-systems-backed-up leaves a QA stack's file system alone: it has no backups, its data goes with qa down", async () => {
    const qa = graphs.find((x) => x.spec.stack === "qa")!;
    expect(qa.resources.filter((r) => r.type === TYPES.backupSelection)).toEqual([]);
    expect(await stackViolationsOf(rules.fileSystemsBackedUp, stackResources(qa.resources))).toEqual([]);
    // The same file system tagged with another stack is held to the rule.
    const retagged = qa.resources.map((r) => (r.type === TYPES.fileSystem ? { ...r, state: { ...r.state, tags: { ...(r.state.tags as object), Stack: "quality" } } } : r));
    expect(await stackViolationsOf(rules.fileSystemsBackedUp, stackResources(retagged))).toHaveLength(1);
  });

  it("rds-encrypted: an instance and a cluster stored in the clear; an Aurora member instance is its cluster's business", async () => {
    const db = (type: string, props: Record<string, unknown>): PolicyInput => ({ type, name: "db", props });
    expect(await violationsOf(rules.rdsEncrypted, db(TYPES.dbInstance, { engine: "postgres" }))).toEqual([expect.stringContaining("storageEncrypted")]);
    expect(await violationsOf(rules.rdsEncrypted, db(TYPES.dbCluster, { engine: "aurora-postgresql", storageEncrypted: false }))).toHaveLength(1);
    expect(await violationsOf(rules.rdsEncrypted, db(TYPES.dbInstance, { engine: "postgres", storageEncrypted: true }))).toEqual([]);
    expect(await violationsOf(rules.rdsEncrypted, db(TYPES.dbInstance, { engine: "aurora-postgresql", clusterIdentifier: "c" }))).toEqual([]);
  });

  it("rds-private: a public database, one without a subnet group, a subnet group over public subnets or foreign ones", async () => {
    const g = graphs[0]!;
    const subnetIds = (tier: string) => g.resources.filter((r) => r.type === TYPES.subnet && r.inputs.tags[TIER_TAG] === tier).map((r) => r.id);
    const group = (name: string, ids: string[]): PolicyInput => ({ type: TYPES.dbSubnetGroup, name, props: { name, subnetIds: ids } });
    const db = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.dbInstance, name: "db", props: { engine: "postgres", storageEncrypted: true, ...props } });
    const good = [group("private", subnetIds("private")), db({ dbSubnetGroupName: "private", publiclyAccessible: false })];
    expect(await stackViolationsOf(rules.rdsPrivate, withExtra(g, ...good))).toEqual([]);
    expect(await stackViolationsOf(rules.rdsPrivate, withExtra(g, good[0]!, db({ dbSubnetGroupName: "private", publiclyAccessible: true })))).toEqual([expect.stringContaining("database db is publicly accessible")]);
    expect(await stackViolationsOf(rules.rdsPrivate, withExtra(g, db({})))).toEqual([expect.stringContaining("has no dbSubnetGroupName")]);
    expect(await stackViolationsOf(rules.rdsPrivate, withExtra(g, group("public", subnetIds("public")), db({ dbSubnetGroupName: "public" })))).toEqual([expect.stringContaining("not tagged fawkes:tier=private")]);
    expect(await stackViolationsOf(rules.rdsPrivate, withExtra(g, group("foreign", ["subnet-0123"]), db({ dbSubnetGroupName: "foreign" })))).toEqual([expect.stringContaining("subnet-0123, not a subnet of this stack")]);
  });

  it("rds-backups-enabled: no retention, or 0; a cluster member or a replica is not asked", async () => {
    const db = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.dbInstance, name: "db", props: { engine: "postgres", ...props } });
    expect(await violationsOf(rules.rdsBackupsEnabled, db({}))).toEqual([expect.stringContaining("backupRetentionPeriod is null")]);
    expect(await violationsOf(rules.rdsBackupsEnabled, db({ backupRetentionPeriod: 0 }))).toEqual([expect.stringContaining("backupRetentionPeriod is 0")]);
    expect(await violationsOf(rules.rdsBackupsEnabled, db({ backupRetentionPeriod: 1 }))).toEqual([]);
    expect(await violationsOf(rules.rdsBackupsEnabled, db({ clusterIdentifier: "c" }))).toEqual([]);
    expect(await violationsOf(rules.rdsBackupsEnabled, db({ replicateSourceDb: "primary" }))).toEqual([]);
  });

  it("rds-password-managed: a password input (plain or write-only), RDS not managing it; a cluster alike", async () => {
    const db = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.dbInstance, name: "db", props: { engine: "postgres", username: "admin", ...props } });
    expect(await violationsOf(rules.rdsPasswordManaged, db({ manageMasterUserPassword: true }))).toEqual([]);
    expect(await violationsOf(rules.rdsPasswordManaged, db({ password: "hunter2hunter2" }))).toEqual([
      expect.stringContaining("password is set"),
      expect.stringContaining("manageMasterUserPassword is not true"),
    ]);
    expect(await violationsOf(rules.rdsPasswordManaged, db({ passwordWo: "x", passwordWoVersion: 1 }))).toEqual([expect.stringContaining("passwordWo is set"), expect.any(String)]);
    expect(await violationsOf(rules.rdsPasswordManaged, db({}))).toEqual([expect.stringContaining("manageMasterUserPassword is not true")]);
    expect(await violationsOf(rules.rdsPasswordManaged, db({ replicateSourceDb: "primary" }))).toEqual([]);
    const cluster = (props: Record<string, unknown>): PolicyInput => ({ type: TYPES.dbCluster, name: "c", props: { engine: "aurora-postgresql", ...props } });
    expect(await violationsOf(rules.rdsPasswordManaged, cluster({ masterPassword: "x" }))).toHaveLength(2);
    expect(await violationsOf(rules.rdsPasswordManaged, cluster({ manageMasterUserPassword: true }))).toEqual([]);
  });

  it("databases-backed-up: no selection, a selection without the database; a wildcard selection covers", async () => {
    const g = graphs.find((x) => x.resources.some((r) => r.type === TYPES.dbInstance))!;
    const db = g.resources.find((r) => r.type === TYPES.dbInstance)!;
    expect(await stackViolationsOf(rules.databasesBackedUp, stackResources(g.resources))).toEqual([]);
    expect(await stackViolationsOf(rules.databasesBackedUp, without(g, (r) => r.type === TYPES.backupSelection))).toEqual([expect.stringContaining(`database ${db.name} is in no AWS Backup selection`)]);
    const fsOnly: PolicyInput = { type: TYPES.backupSelection, name: "fs-only", props: { resources: ["arn:aws:elasticfilesystem:*:*:file-system/*"] } };
    const others = g.resources.filter((r) => r.type !== TYPES.backupSelection);
    expect(await stackViolationsOf(rules.databasesBackedUp, stackResources([...others, fsOnly]))).toHaveLength(1);
    const every: PolicyInput = { type: TYPES.backupSelection, name: "every", props: { resources: ["arn:aws:rds:*:*:db:*"] } };
    expect(await stackViolationsOf(rules.databasesBackedUp, stackResources([...others, every]))).toEqual([]);
  });

  it("the stacks' own database passes every database rule, and the rules see what they check", async () => {
    // A QA stack's databases live on its parent's server (database.shareParentServer): it has no instance to check.
    const own = graphs.filter((g) => !g.spec.knobs.database.shareParentServer);
    expect(own.map((g) => g.spec.stack)).toEqual(["dev", "production", "staging"]);
    for (const g of graphs.filter((x) => !own.includes(x))) expect(g.resources.filter((r) => r.type === TYPES.dbInstance), g.spec.stack).toEqual([]);
    for (const g of own) {
      const [db] = g.resources.filter((r) => r.type === TYPES.dbInstance);
      expect(db, g.spec.stack).toBeDefined();
      expect(db!.inputs).toMatchObject({ storageEncrypted: true, publiclyAccessible: false, manageMasterUserPassword: true, dbSubnetGroupName: expect.any(String) });
      expect(db!.inputs.backupRetentionPeriod).toBeGreaterThanOrEqual(1);
      for (const policy of [rules.rdsEncrypted, rules.rdsBackupsEnabled, rules.rdsPasswordManaged]) expect(await violationsOf(policy, { ...db!, props: db!.inputs }), policy.name).toEqual([]);
      for (const policy of [rules.rdsPrivate, rules.databasesBackedUp]) expect(await stackViolationsOf(policy, stackResources(g.resources)), policy.name).toEqual([]);
    }
  });

  it("no-admin-outside-admin-role: \"*\" on \"*\" inline on the deployer, AdministratorAccess on the viewer, a managed policy, a user's policy", async () => {
    const g = graphs[0]!;
    const roleName = (access: string) => g.resources.find((r) => r.type === TYPES.role && r.inputs.tags?.[rules.ACCESS_TAG] === access)!.inputs.name as string;
    const everything = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
    const inline: PolicyInput = { type: TYPES.rolePolicy, name: "sneaky", props: { role: roleName("deployer"), policy: everything } };
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, withExtra(g, inline))).toEqual([expect.stringContaining(`the inline policy sneaky of role ${roleName("deployer")} allows "*" on "*"`)]);
    const onAdmin: PolicyInput = { type: TYPES.rolePolicy, name: "fine", props: { role: roleName("admin"), policy: everything } };
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, withExtra(g, onAdmin))).toEqual([]);
    const attached: PolicyInput = { type: TYPES.rolePolicyAttachment, name: "promote", props: { role: roleName("viewer"), policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } };
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, withExtra(g, attached))).toEqual([expect.stringContaining(`role ${roleName("viewer")} gets AdministratorAccess`)]);
    const managed: PolicyInput = { type: TYPES.managedPolicy, name: "god", props: { policy: { Statement: { Effect: "Allow", Action: ["*:*"], Resource: ["*"] } } } };
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, withExtra(g, managed))).toHaveLength(1);
    const user: PolicyInput = { type: TYPES.userPolicy, name: "ops-user", props: { user: "ops", policy: everything } };
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, withExtra(g, user))).toHaveLength(1);
    // A tag on a role of another name grants nothing: the check follows the role the policy names.
    const stranger: PolicyInput = { type: TYPES.rolePolicy, name: "stranger", props: { role: "not-in-this-stack", policy: everything } };
    expect(await stackViolationsOf(rules.noAdminOutsideAdminRole, withExtra(g, stranger))).toHaveLength(1);
    expect(await rules.grantsAdmin(JSON.stringify({ Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }))).toEqual([]);
    expect(await rules.grantsAdmin(JSON.stringify({ Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }))).toEqual([]);
  });

  it("every stack's own admin role is the only one with \"*\" on \"*\"", async () => {
    for (const g of graphs) {
      const admins = g.resources.filter((r) => r.type === TYPES.rolePolicyAttachment && r.inputs.policyArn === "arn:aws:iam::aws:policy/AdministratorAccess");
      expect(admins.map((a) => a.inputs.role)).toEqual([`fawkes-${g.spec.stack}-admin`]);
      const inline = g.resources.filter((r) => r.type === TYPES.rolePolicy);
      for (const r of inline) expect(await rules.grantsAdmin(r.inputs.policy, r.inputs.role), r.name).toEqual([]);
    }
  });
});
