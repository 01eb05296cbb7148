import { buildPinnedIfMissing } from "../../artifact/index.ts";
import { loadStack } from "../../config/index.ts";
import { twinDown, twinUp } from "../../twin/up.ts";
import { UsageError, type Command } from "../command.ts";
import { findProjectRoot } from "../project-root.ts";

const stackOf = (values: Record<string, unknown>) => (typeof values.stack === "string" ? values.stack : "staging");

export const twinUpCmd: Command = {
  name: "twin up",
  summary: "Boot a stack's AWS side on this machine: moto, the launch templates' user-data, EC2's metadata service.",
  usage: "fawkes twin up [--stack S] [--port P] [--json]",
  help: `Runs the stack's Pulumi program under Pulumi's mocks and makes what it declares for the hosts
(VPC, subnets, security groups, artifact bucket and bundles, lock table, queues, log groups, EFS,
the RDS master secret, roles and profiles, parameters, launch templates, Auto Scaling groups) in
moto, run in the twin's services host with dnsmasq (DNS, DHCP) and PostgreSQL as RDS (TLS only).
Pushes the pinned releases to the bucket and generates missing secrets into SSM, as on AWS. Each
group's instances then boot from their launch template's user-data, byte for byte, by cloud-init's
Ec2 datasource against an IMDSv2 service in the instance's own namespace; web hosts go behind a
front on 127.0.0.1 (HAProxy, health-checked as the ALB does). Prints AWS_ENDPOINT_URL for fawkes
run against the twin. Needs root.

Flags:
  --stack S   the stack (default staging)
  --port P    the front's port on 127.0.0.1 (default the first free from 8180)
  --json      print the twin's state as JSON

Exit codes: 0 every instance booted; 1 an instance failed (its disk stays for a look, fawkes twin
down removes it) or the twin cannot start; 2 usage.`,
  options: { stack: { type: "string", kind: "stack" }, port: { type: "string" }, json: { type: "boolean" } },
  async run({ values }, io) {
    const root = findProjectRoot(io.cwd, values.project);
    const spec = loadStack(root, stackOf(values));
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UsageError(`--port ${String(values.port)}: not a port number`);
    const progress = (m: string) => io.err(`${m}\n`);
    await buildPinnedIfMissing(root, spec, progress);
    const state = await twinUp(root, spec, { port, progress });
    const failed = state.instances.filter((i) => !i.boot.ok);
    if (values.json === true) io.out(`${JSON.stringify(state, null, 2)}\n`);
    else {
      io.out(`${spec.stack} twin: ${state.instances.length - failed.length} instances booted, ${failed.length} failed; front http://127.0.0.1:${state.port}/\n`);
      for (const i of state.instances) io.out(`  ${i.instanceId} ${i.group} ${i.ip} ${i.boot.ok ? "ok" : `FAILED at ${i.boot.failedStep ?? "cloud-init"}: ${i.boot.detail.split("\n")[0]}`}\n`);
      io.out(`  AWS_ENDPOINT_URL=${state.endpoint}\n`);
    }
    return failed.length === 0 ? 0 : 1;
  },
};

export const twinDownCmd: Command = {
  name: "twin down",
  summary: "Stop a stack's twin and remove it: hosts, moto's world, network, disks.",
  usage: "fawkes twin down [--stack S]",
  help: `Stops every instance, the services host and the front, removes the twin's namespaces, cards and
bridge, and its dir under the fawkes home. Nothing of AWS is touched: the twin never calls it.

Flags:
  --stack S   the stack (default staging)

Exit codes: 0 removed (or there was none); 2 usage.`,
  options: { stack: { type: "string", kind: "stack" } },
  async run({ values }, io) {
    const existed = await twinDown(stackOf(values), { progress: (m) => io.err(`${m}\n`) });
    io.out(`${stackOf(values)} twin: ${existed ? "down" : "none was up"}\n`);
    return 0;
  },
};
