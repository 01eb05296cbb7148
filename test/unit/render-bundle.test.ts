// The bundle a host's stage-1 script fetches: content-addressed, the sum in the user-data, and the
// stage-1 script itself run against a store directory: a bundle that does not match is refused.
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { filesOfBundle, type HostImage } from "../../src/render/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");
const images = renderWithTestArtifacts(planEnvironment(loadStack(ROOT, "production")));
const web = images.find((i) => i.role === "web")!;
const bootOf = (img: HostImage) => img.files.find((f) => f.path === "/usr/local/sbin/fawkes-boot")!.content;

/** `text` with `from` replaced by `to`, exactly once: a test that no longer matches the script fails. */
function once(text: string, from: string, to: string): string {
  expect(text.split(from).length - 1, from).toBe(1);
  return text.replace(from, () => to);
}

/**
 * The stage-1 script of `img`, unchanged but for where it reads and writes: the host's absolute
 * paths moved under a scratch dir, and a bootstrap that only says it ran.
 */
function stage1In(img: HostImage, platform: "nocloud" | "ec2") {
  const dir = mkdtempSync(join(tmpdir(), "fawkes-boot-"));
  const p = { root: join(dir, "root"), store: join(dir, "store"), state: join(dir, "state"), log: join(dir, "log/bootstrap.log"), data: join(dir, "instance-data.json"), ran: join(dir, "bootstrap-ran"), bin: join(dir, "bin") };
  for (const d of [p.root, p.store, p.bin]) mkdirSync(d, { recursive: true });
  writeFileSync(p.data, JSON.stringify({ v1: { platform, region: "eu-west-1", instance_id: "i-0123" } }));
  const bootstrap = join(dir, "bootstrap");
  writeFileSync(bootstrap, `#!/bin/bash\nprintf '%s\\n' "$AWS_DEFAULT_REGION" >${p.ran}\n`, { mode: 0o755 });
  let script = bootOf(img);
  script = once(script, "readonly INSTANCE_DATA=/run/cloud-init/instance-data.json", `readonly INSTANCE_DATA=${p.data}`);
  script = once(script, "readonly LOCAL_STORE=/var/lib/fawkes/store", `readonly LOCAL_STORE=${p.store}`);
  script = once(script, "readonly STATE=/run/fawkes", `readonly STATE=${p.state}`);
  script = once(script, "readonly LOG=/var/log/fawkes/bootstrap.log", `readonly LOG=${p.log}`);
  script = once(script, "readonly BOOTSTRAP=/usr/local/sbin/fawkes-bootstrap", `readonly BOOTSTRAP=${bootstrap}`);
  script = once(script, " -C / ", ` -C ${p.root} `);
  const file = join(dir, "fawkes-boot");
  writeFileSync(file, script, { mode: 0o755 });
  const put = (bytes: Uint8Array) => {
    mkdirSync(dirname(join(p.store, img.bundle.key)), { recursive: true });
    writeFileSync(join(p.store, img.bundle.key), bytes);
  };
  const run = () => spawnSync("bash", [file], { encoding: "utf8", env: { PATH: `${p.bin}:${process.env.PATH}`, HOME: dir } });
  return { ...p, put, run };
}

describe("the bundle", () => {
  it("is stored under its own sha256, which is the sum the user-data's stage 1 checks", () => {
    for (const img of images) {
      const sum = createHash("sha256").update(img.bundle.bytes).digest("hex");
      expect(img.bundle.sha256).toBe(sum);
      expect(img.bundle.key).toBe(`_bundles/${sum}.tar.gz`);
      expect(img.userData).toContain(`readonly BUNDLE_SHA256=${sum}\n`);
      expect(img.userData).toContain(`readonly BUNDLE_OBJECT=_bundles/${sum}.tar.gz\n`);
    }
  });

  it("is the same bytes for the same stack, and a different key when a file changes", () => {
    const again = renderWithTestArtifacts(planEnvironment(loadStack(ROOT, "production"))).find((i) => i.role === "web")!;
    expect(Buffer.from(again.bundle.bytes).equals(Buffer.from(web.bundle.bytes))).toBe(true);
    const staging = renderWithTestArtifacts(planEnvironment(loadStack(ROOT, "staging"))).find((i) => i.role === "web")!;
    expect(staging.bundle.key).not.toBe(web.bundle.key);
  });

  it("unpacks with tar to every file of the host but the stage-1 script, with its mode", () => {
    const dir = mkdtempSync(join(tmpdir(), "fawkes-bundle-"));
    writeFileSync(join(dir, "b.tar.gz"), web.bundle.bytes);
    execFileSync("tar", ["-xzf", join(dir, "b.tar.gz"), "-C", dir, "--no-same-owner"]);
    const inBundle = web.files.filter((f) => f.path !== "/usr/local/sbin/fawkes-boot");
    expect(filesOfBundle(web.bundle.bytes).map((f) => f.path)).toEqual(inBundle.map((f) => f.path));
    for (const f of inBundle) {
      expect(readFileSync(join(dir, f.path), "utf8"), f.path).toBe(f.content);
      expect(existsSync(join(dir, f.path))).toBe(true);
    }
  });
});

describe("stage 1 (fawkes-boot)", () => {
  it("fetches the bundle from the local store by key, checks it, unpacks it and runs the bootstrap", () => {
    const h = stage1In(web, "nocloud");
    h.put(web.bundle.bytes);
    const r = h.run();
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(h.ran)).toBe(true);
    expect(readFileSync(join(h.root, "usr/local/sbin/fawkes-bootstrap"), "utf8")).toBe(web.files.find((f) => f.path === "/usr/local/sbin/fawkes-bootstrap")!.content);
    expect(readFileSync(h.log, "utf8")).toContain(`bundle ${web.bundle.key} verified and unpacked`);
  });

  it("refuses a tampered bundle: nothing unpacked, no bootstrap run, a failed bootstrap at step bundle", () => {
    const h = stage1In(web, "nocloud");
    const tampered = Buffer.from(web.bundle.bytes);
    tampered[tampered.length - 9]! ^= 0x01;
    h.put(tampered);
    const r = h.run();
    expect(r.status).not.toBe(0);
    expect(existsSync(h.ran)).toBe(false);
    expect(existsSync(join(h.root, "usr"))).toBe(false);
    expect(readFileSync(join(h.state, "bootstrap.failed"), "utf8")).toBe("bundle\n");
    expect(existsSync(join(h.state, "bootstrap.done"))).toBe(false);
    expect(r.stderr).toContain(`does not match the sha256 in this host's user-data (${web.bundle.sha256})`);
  });

  it("fails at step bundle, naming the key, when the store lacks the bundle", () => {
    const h = stage1In(web, "nocloud");
    const r = h.run();
    expect(r.status).not.toBe(0);
    expect(readFileSync(join(h.state, "bootstrap.failed"), "utf8")).toBe("bundle\n");
    expect(r.stderr).toContain(`${h.store}/${web.bundle.key} missing from the local artifact store`);
  });

  it("on EC2 fetches the same key from the artifact bucket with the AWS CLI, in the instance's region", () => {
    const h = stage1In(web, "ec2");
    const calls = join(h.bin, "calls");
    // A stand-in for the AWS CLI: records its arguments and copies the object from the store dir.
    writeFileSync(join(h.bin, "aws"), `#!/bin/bash\nprintf '%s\\n' "$*" >>${calls}\nkey=\${4#s3://*/}\ncp "${h.store}/$key" "$5"\n`);
    chmodSync(join(h.bin, "aws"), 0o755);
    h.put(web.bundle.bytes);
    const r = h.run();
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(calls, "utf8").trim()).toMatch(new RegExp(`^s3 cp --only-show-errors s3://${web.manifest.project}-production-[^/ ]*/${web.bundle.key} /var/tmp/fawkes-bundle\\.\\w+/bundle\\.tar\\.gz$`));
    expect(readFileSync(h.ran, "utf8")).toBe("eu-west-1\n");
  });
});
