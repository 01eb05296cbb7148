// The deploy console host's user-data renderer (src/render/console-host.ts): pure, plain values in,
// the #cloud-config text out; a value a systemd unit line could not carry as it is fails the render.
import { describe, expect, it } from "vitest";
import { CONSOLE_FETCH_PATH, CONSOLE_SERVICE_PATH, CONSOLE_START_PATH, consoleArgv, renderConsoleHost, USER_DATA_LIMIT } from "../../src/render/index.ts";
import { CONSOLE_HOST_ARGS } from "../helpers/console-host-args.ts";

const ARGS = CONSOLE_HOST_ARGS;

const fileOf = (path: string) => renderConsoleHost(ARGS).files.find((f) => f.path === path)!.content;

describe("renderConsoleHost", () => {
  it("writes the service, its fetch and its start, and runs the start once from runcmd, in far less than EC2's limit", () => {
    const image = renderConsoleHost(ARGS);
    expect(image.files.map((f) => [f.path, f.mode])).toEqual([
      [CONSOLE_SERVICE_PATH, "0644"],
      [CONSOLE_FETCH_PATH, "0755"],
      [CONSOLE_START_PATH, "0755"],
    ]);
    expect(image.userData).toMatch(/^#cloud-config\n/);
    expect(image.userData).toContain(`runcmd:\n  - [ ${CONSOLE_START_PATH} ]\n`);
    expect(image.userDataBytes.length).toBeLessThan(USER_DATA_LIMIT / 2);
    expect(Buffer.from(image.userDataBytes).toString("utf8")).toBe(image.userData);
  });

  it("runs the console as its own user with the load balancer's ARN, restarted always, after the fetch as root", () => {
    const unit = fileOf(CONSOLE_SERVICE_PATH);
    expect(unit).toContain(`ExecStart=${consoleArgv(ARGS).join(" ")}\n`);
    expect(consoleArgv(ARGS)).toEqual(["node", "bin/fawkes.mjs", "console", "--target", "aws", "--stacks", "staging,production", "--auth", "alb", "--listen", "0.0.0.0:8080", "--alb-arn", ARGS.albArn, "--region", "eu-west-1", "--groups-claim", "groups"]);
    for (const line of ["User=fawkes-console", `ExecStartPre=+${CONSOLE_FETCH_PATH}`, "Restart=always", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "StartLimitIntervalSec=0"]) expect(unit).toContain(`${line}\n`);
  });

  it("fetches the pinned key and checks its sha256 before it unpacks anything", () => {
    const fetch = fileOf(CONSOLE_FETCH_PATH);
    expect(fetch).toContain(`readonly KEY=console/${ARGS.bundleSha256}.tar.gz\n`);
    expect(fetch.indexOf('if [[ $got != "$SHA256" ]]')).toBeGreaterThan(0);
    expect(fetch.indexOf('if [[ $got != "$SHA256" ]]')).toBeLessThan(fetch.indexOf("tar -xzf"));
  });

  it("refuses a value a unit line or a script could not carry as it is", () => {
    for (const [key, value] of [
      ["albArn", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x y/1"],
      ["groupsClaim", "groups; rm -rf /"],
      ["region", "eu-west-1\nExecStart=/bin/sh"],
      ["bundleSha256", "abc"],
      ["artifactBucket", "Bucket_With_Caps"],
    ] as const) {
      expect(() => renderConsoleHost({ ...ARGS, [key]: value }), key).toThrow(`the console host's ${key}`);
    }
  });
});
