// The user-data both targets boot: cloud-config shape, byte-for-byte determinism, gzip past EC2's
// limit, and a manifest that matches the files.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadEnvironment, loadStack, readRecipe } from "../../src/config/index.ts";
import { planEnvironment } from "../../src/model/index.ts";
import { ENCODED_FILE_BYTES, userDataBytes } from "../../src/render/host-image.ts";
import { renderEnvironment, USER_DATA_LIMIT, type HostImage } from "../../src/render/index.ts";

const ROOT = join(import.meta.dirname, "../..");
const STACKS = ["dev", "production", "staging", "qa"];

const render = (stack: string) => renderEnvironment(planEnvironment(loadStack(ROOT, stack)));
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
  return renderEnvironment(planEnvironment(spec));
}

describe("cloud-config", () => {
  it("is a #cloud-config that writes every rendered file, then runs the bootstrap", () => {
    for (const image of images) {
      expect(image.userData.startsWith("#cloud-config\n")).toBe(true);
      const doc = parse(image.userData) as { write_files: Array<Record<string, unknown>>; runcmd: unknown; packages?: unknown };
      expect(Object.keys(doc).sort()).toEqual(["runcmd", "write_files"]);
      expect(doc.runcmd).toEqual([["/usr/local/sbin/fawkes-bootstrap"]]);
      expect(doc.write_files.map((w) => w.path)).toEqual(image.files.map((f) => f.path));
      for (const [i, w] of doc.write_files.entries()) {
        const f = image.files[i]!;
        const big = Buffer.byteLength(f.content) > ENCODED_FILE_BYTES;
        const { content, ...rest } = w;
        expect(rest).toEqual({ path: f.path, owner: "root:root", permissions: f.mode, defer: true, ...(big ? { encoding: "gz+b64" } : {}) });
        expect(big ? gunzipSync(Buffer.from(String(content), "base64")).toString("utf8") : content).toBe(f.content);
      }
    }
  });

  it("keeps file contents readable as literal blocks, but for the bootstrap (past 8 KiB: gzip+base64)", () => {
    const doc = parse(devWeb.userData) as { write_files: Array<{ path: string; encoding?: string }> };
    expect(doc.write_files.filter((w) => w.encoding !== undefined)).toEqual([expect.objectContaining({ path: "/usr/local/sbin/fawkes-bootstrap", encoding: "gz+b64" })]);
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
    const [web, worker] = catalogueOf(20);
    for (const image of [web!, worker!]) {
      expect(new TextEncoder().encode(image.userData).length).toBeGreaterThan(USER_DATA_LIMIT);
      expect(isGzip(image.userDataBytes)).toBe(true);
      expect(gunzipSync(image.userDataBytes).toString("utf8")).toBe(image.userData);
    }
  });

  it("fit in EC2's limit for every stack of the repository", () => {
    for (const image of images) expect(image.userDataBytes.length).toBeLessThanOrEqual(USER_DATA_LIMIT);
  });
});

describe("host manifest", () => {
  const manifestOf = (image: HostImage) => JSON.parse(image.files.find((f) => f.path === "/etc/fawkes/host.json")!.content) as HostImage["manifest"];

  it("holds the sha256 of every other file, and is the manifest the image reports", () => {
    for (const image of images) {
      const manifest = manifestOf(image);
      expect(manifest).toEqual(image.manifest);
      const others = image.files.filter((f) => f.path !== "/etc/fawkes/host.json");
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
});
