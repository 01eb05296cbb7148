import { describe, expect, it } from "vitest";
import { parseIni, pipConfigFiles, pipIndexOf, pipUserHome, redactedUrl } from "../../src/artifact/pip-index.ts";

const HOME = "/home/dev";

/** A reader over the given files only: nothing of this machine's own pip configuration. */
const files = (map: Record<string, string>) => (f: string) => map[f];

describe("the package index of the user's pip configuration", () => {
  it("reads the files in pip's order, later ones winning, [download] over [global]", () => {
    const read = files({
      "/etc/pip.conf": "[global]\nindex-url = http://10.0.0.1/simple/\n",
      [`${HOME}/.config/pip/pip.conf`]: "[global]\nindex-url = https://pkgs.example.test/simple/\nextra-index-url =\n    http://127.0.0.1:3141/extra/\n    http://127.0.0.1:3142/more/\n[download]\nindex-url = https://dl.example.test/simple/\n",
    });
    const index = pipIndexOf({}, read, HOME);
    expect(index.urls).toEqual(["https://dl.example.test/simple/", "http://127.0.0.1:3141/extra/", "http://127.0.0.1:3142/more/"]);
    expect(index.from).toEqual(["/etc/pip.conf [global]", `${HOME}/.config/pip/pip.conf [global]`, `${HOME}/.config/pip/pip.conf [download]`]);
  });

  it("PIP_CONFIG_FILE is read last; /dev/null reads no file; PIP_INDEX_URL and PIP_EXTRA_INDEX_URL override files", () => {
    const read = files({ "/etc/pip.conf": "[global]\nindex-url = http://10.0.0.1/simple/\nextra-index-url = http://10.0.0.2/simple/\n", "/tmp/mine.conf": "[global]\nindex-url = http://127.0.0.1:9/simple/\n" });
    expect(pipConfigFiles({ PIP_CONFIG_FILE: "/tmp/mine.conf" }, HOME).at(-1)).toBe("/tmp/mine.conf");
    expect(pipIndexOf({ PIP_CONFIG_FILE: "/tmp/mine.conf" }, read, HOME).urls).toEqual(["http://127.0.0.1:9/simple/", "http://10.0.0.2/simple/"]);
    expect(pipIndexOf({ PIP_CONFIG_FILE: "/dev/null" }, read, HOME)).toEqual({ urls: [], from: [], skipped: [] });
    expect(pipIndexOf({ PIP_CONFIG_FILE: "/dev/null", PIP_INDEX_URL: "http://127.0.0.1:7/simple/" }, read, HOME).urls).toEqual(["http://127.0.0.1:7/simple/"]);
    // An empty variable empties the list, as pip reads it.
    expect(pipIndexOf({ PIP_EXTRA_INDEX_URL: "" }, read, HOME).urls).toEqual(["http://10.0.0.1/simple/"]);
  });

  it("no index configured is no index: the build never picks one", () => {
    expect(pipIndexOf({}, files({}), HOME)).toEqual({ urls: [], from: [], skipped: [] });
  });

  it("leaves out what the image cannot reach, and never shows credentials", () => {
    const index = pipIndexOf({ PIP_INDEX_URL: "https://me:s3cret@pkgs.example.test/simple/", PIP_EXTRA_INDEX_URL: "file:///opt/wheels/simple ftp://x/" }, files({}), HOME);
    expect(index.urls).toEqual(["https://me:s3cret@pkgs.example.test/simple/"]);
    expect(index.skipped).toHaveLength(2);
    expect(index.skipped[0]).toMatch(/^file:\/\/\/opt\/wheels\/simple: the build reaches an index over http or https only$/);
    expect(redactedUrl(index.urls[0]!)).toBe("https://pkgs.example.test/simple/");
    // Any scheme's case: nothing between :// and @ is ever shown.
    const upper = pipIndexOf({ PIP_INDEX_URL: "HTTPS://me:s3cret@pkgs.example.test/simple/", PIP_EXTRA_INDEX_URL: "FILE://me:s3cret@x/simple/" }, files({}), HOME);
    expect(upper.urls).toEqual(["HTTPS://me:s3cret@pkgs.example.test/simple/"]);
    expect(upper.skipped.join(" ")).not.toContain("s3cret");
  });

  it("under sudo, the configuration is the sudo user's, not root's", () => {
    const passwd = () => "root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000::/home/dev:/bin/bash\n";
    const asRoot = process.getuid?.() === 0;
    expect(pipUserHome({ SUDO_USER: "dev" }, passwd)).toBe(asRoot ? "/home/dev" : pipUserHome({}, passwd));
    expect(pipUserHome({ SUDO_USER: "root" }, passwd)).toBe(pipUserHome({}, passwd));
    expect(pipUserHome({ SUDO_USER: "nobody-here" }, passwd)).toBe(pipUserHome({}, passwd));
  });

  it("parses pip's INI: comments, ':' or '=', keys with '_', continuation lines", () => {
    const ini = parseIni("# c\n[global]\n; c\nindex_url: http://a/\nextra-index-url = http://b/\n  http://c/\n");
    expect(ini.get("global")?.get("index-url")).toBe("http://a/");
    expect(ini.get("global")?.get("extra-index-url")).toBe("http://b/\nhttp://c/");
  });
});
