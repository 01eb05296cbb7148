// The user-data both targets boot: cloud-config shape (the stage-1 script only), byte-for-byte
// determinism, a size that does not grow with the apps, and a manifest that matches the files.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadEnvironment, loadStack, readRecipe } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { ENCODED_FILE_BYTES, userDataBytes } from "../../src/render/host-image.ts";
import { ec2UserDataProblems, filesOfBundle, USER_DATA_LIMIT, type HostImage } from "../../src/render/index.ts";
import { renderWithTestArtifacts } from "../helpers/release-sums.ts";

const ROOT = join(import.meta.dirname, "../..");
const STACKS = ["dev", "production", "staging", "qa"];

const render = (stack: string) => renderWithTestArtifacts(planEnvironment(loadStack(ROOT, stack)));
const images = STACKS.flatMap(render);
const devWeb = render("dev").find((i) => i.role === "web")!;
const devSpec = loadStack(ROOT, "dev");

const isGzip = (b: Uint8Array) => b[0] === 0x1f && b[1] === 0x8b;

/** A catalogue of `count` apps, in memory: web + worker process, static, media, hooks, secrets. */
function catalogueOf(count: number, envOrder: "ab" | "ba" = "ab") {
  const apps = Array.from({ length: count }, (_, i) => ({
    name: `app${i}`,
    source: `apps/app${i}`,
    processes: { web: { wsgi: `app${i}.wsgi:application` }, worker: { command: `python -m app${i}.worker` } },
    static: { url: "/static/", dir: "static" },
    media: { url: "/media/", dir: "media" },
    shared: ["media"],
    hooks: { release: ["python manage.py migrate --noinput"] },
    secrets: ["SECRET_KEY"],
    env: envOrder === "ab" ? { A_SETTING: "1", B_SETTING: "2" } : { B_SETTING: "2", A_SETTING: "1" },
  }));
  const spec = loadEnvironment({
    project: "fawkes",
    stack: "dev",
    projectLayer: { file: "Pulumi.yaml", values: { "fawkes:catalogue": { apps } } },
    recipe: readRecipe(ROOT, []),
    stackLayers: [{ file: "stacks/Pulumi.dev.yaml", values: { "fawkes:domain": "dev.example.com", "fawkes:releases": Object.fromEntries(apps.map((a) => [a.name, "r1"])) } }],
  });
  return renderWithTestArtifacts(planEnvironment(spec));
}

describe("cloud-config", () => {
  it("is a #cloud-config that writes the stage-1 script, then runs it; the bundle holds every other file", () => {
    for (const image of images) {
      expect(image.userData.startsWith("#cloud-config\n")).toBe(true);
      const doc = parse(image.userData) as { write_files: Array<Record<string, unknown>>; runcmd: unknown; packages?: unknown };
      expect(Object.keys(doc).sort()).toEqual(["runcmd", "write_files"]);
      expect(doc.runcmd).toEqual([["/usr/local/sbin/fawkes-boot"]]);
      const boot = image.files.find((f) => f.path === "/usr/local/sbin/fawkes-boot")!;
      expect(doc.write_files).toEqual([{ path: boot.path, owner: "root:root", permissions: "0755", defer: true, content: boot.content }]);
      expect(filesOfBundle(image.bundle.bytes)).toEqual(image.files.filter((f) => f !== boot));
    }
  });

  it("keeps the stage-1 script readable as a literal block", () => {
    expect(Buffer.byteLength(devWeb.userData)).toBeLessThan(ENCODED_FILE_BYTES);
    expect(devWeb.userData).toContain("    content: |\n      #!/bin/bash\n");
    expect(devWeb.userData).toContain('    permissions: "0755"\n');
  });

  it("lists files in path order and executables with mode 0755", () => {
    for (const image of images) {
      const paths = image.files.map((f) => f.path);
      expect(paths).toEqual([...paths].sort());
      for (const f of image.files) expect(f.mode).toBe(f.path.startsWith("/usr/local/") ? "0755" : "0644");
    }
  });
});

describe("determinism", () => {
  it("renders the same bytes for the same stack, however often", () => {
    const again = STACKS.flatMap(render);
    expect(again.map((i) => i.userData)).toEqual(images.map((i) => i.userData));
    expect(again.map((i) => Buffer.from(i.userDataBytes).toString("hex"))).toEqual(images.map((i) => Buffer.from(i.userDataBytes).toString("hex")));
  });

  it("does not depend on the order of keys in the catalogue's maps", () => {
    const [ab, ba] = [catalogueOf(2, "ab"), catalogueOf(2, "ba")];
    expect(ba.map((i) => i.userData)).toEqual(ab.map((i) => i.userData));
  });

  it("puts no time or host of the render into the output", () => {
    for (const text of [devWeb.userData, ...devWeb.files.map((f) => f.content)]) {
      expect(text).not.toMatch(/20\d\d-\d\d-\d\dT/);
      expect(text).not.toContain(ROOT);
    }
  });
});

describe("user-data bytes", () => {
  it("are the text itself when it fits in EC2's limit", () => {
    const small = "#cloud-config\nruncmd: []\n";
    expect(Buffer.from(userDataBytes(small)).toString("utf8")).toBe(small);
  });

  it("are gzip of the text past the limit, and unpack to it", () => {
    const big = `#cloud-config\n# ${"x".repeat(USER_DATA_LIMIT)}\nruncmd: []\n`;
    const bytes = userDataBytes(big);
    expect(isGzip(bytes)).toBe(true);
    expect(gunzipSync(bytes).toString("utf8")).toBe(big);
  });

  it("stay the same size with 20 apps per role as with 2, far under EC2's limit: the apps are in the bundle", () => {
    const two = catalogueOf(2);
    const twenty = catalogueOf(20);
    for (const role of ["web", "worker"] as const) {
      const [a, b] = [two, twenty].map((images) => images.find((i) => i.role === role)!);
      expect(b!.manifest.apps).toHaveLength(20);
      expect(isGzip(b!.userDataBytes)).toBe(false);
      expect(b!.userDataBytes.length).toBeLessThan(USER_DATA_LIMIT / 2);
      // Only the bundle's sum differs, and sums are all 64 characters.
      expect(b!.userDataBytes.length).toBe(a!.userDataBytes.length);
      expect(b!.bundle.bytes.length).toBeGreaterThan(a!.bundle.bytes.length);
    }
  });

  it("fit in EC2's limit for every stack of the repository", () => {
    for (const image of images) expect(image.userDataBytes.length).toBeLessThanOrEqual(USER_DATA_LIMIT);
    expect(ec2UserDataProblems(images)).toEqual([]);
  });

  it("past EC2's limit anyway (a fault of fawkes, not of the catalogue), are refused with the role, the size and what to do", () => {
    const over = { ...devWeb, userDataBytes: new Uint8Array(USER_DATA_LIMIT + 1) };
    expect(ec2UserDataProblems([devWeb, over])).toEqual([
      {
        file: "Pulumi.yaml",
        path: "config.catalogue.value.apps",
        message: `the web hosts' user-data is ${USER_DATA_LIMIT + 1} bytes, over EC2's ${USER_DATA_LIMIT}-byte limit, although it holds only the stage-1 script (${devWeb.manifest.apps.length} apps are in the bundle)`,
        hint: "this is a fault of fawkes, not of the catalogue: report it with `fawkes render` of this stack",
      },
    ]);
  });
});

describe("host manifest", () => {
  const manifestOf = (image: HostImage) => JSON.parse(image.files.find((f) => f.path === "/etc/fawkes/host.json")!.content) as HostImage["manifest"];

  it("holds the sha256 of every other file of the bundle, and is the manifest the image reports", () => {
    for (const image of images) {
      const manifest = manifestOf(image);
      expect(manifest).toEqual(image.manifest);
      const others = filesOfBundle(image.bundle.bytes).filter((f) => f.path !== "/etc/fawkes/host.json");
      expect(Object.keys(manifest.files)).toEqual(others.map((f) => f.path));
      for (const f of others) expect(manifest.files[f.path]).toBe(createHash("sha256").update(f.content).digest("hex"));
    }
  });

  it("writes its keys sorted", () => {
    const text = devWeb.files.find((f) => f.path === "/etc/fawkes/host.json")!.content;
    expect(Object.keys(JSON.parse(text) as object)).toEqual(["apps", "files", "image", "project", "role", "stack"]);
    expect(text.endsWith("}\n")).toBe(true);
  });

  it("describes the host's apps", () => {
    expect(devWeb.manifest.apps.map((a) => [a.name, a.release, a.port, a.processes])).toEqual([
      ["shop", devSpec.knobs.releases.shop, 8001, ["shop-web"]],
      ["blog", devSpec.knobs.releases.blog, 8002, ["blog-web"]],
    ]);
  });
});

describe("snapshot", () => {
  it("of the dev web host's user-data", () => {
    expect(devWeb.userData).toMatchSnapshot();
  });

  it("of the files in the dev web host's bundle", () => {
    expect(filesOfBundle(devWeb.bundle.bytes).map((f) => `${f.mode} ${f.owner} ${f.path}`)).toMatchSnapshot();
  });
});
