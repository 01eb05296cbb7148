import { describe, expect, it } from "vitest";
import { debianMirror, parseDeb822, parseSourcesList } from "../../src/local/mirror.ts";

describe("the Debian mirror comes from the machine's apt configuration", () => {
  const deb822 = [
    "# http://commented.example/debian is not a source",
    "Types: deb",
    "URIs: http://archive.example/debian",
    "Suites: bookworm bookworm-updates",
    "Components: main",
    "",
    "Types: deb",
    "URIs: http://archive.example/debian-security",
    "Suites: bookworm-security",
    "Components: main",
    "",
    "Types: deb",
    "Enabled: no",
    "URIs: http://disabled.example/debian",
    "Suites: bookworm",
    "Components: main",
  ].join("\n");

  it("reads URIs of deb822 stanzas, skipping comments and disabled stanzas", () => {
    const s = parseDeb822(deb822, "debian.sources");
    expect(s.map((x) => x.uri)).toEqual(["http://archive.example/debian", "http://archive.example/debian-security"]);
    expect(debianMirror("bookworm", s)).toBe("http://archive.example/debian");
  });

  it("reads one-line sources.list entries", () => {
    const s = parseSourcesList("# deb http://old.example/debian bookworm main\ndeb [arch=amd64] http://one.example/debian bookworm main contrib\n", "sources.list");
    expect(debianMirror("bookworm", s)).toBe("http://one.example/debian");
  });

  it("takes the machine's Debian archive for a release its sources do not name (Debian 13 hosts on a Debian 12 machine)", () => {
    const s = parseDeb822(deb822, "debian.sources");
    expect(debianMirror("trixie", s)).toBe("http://archive.example/debian");
  });

  it("says which sources it saw when none is a Debian archive", () => {
    expect(() => debianMirror("trixie", parseDeb822("Types: deb\nURIs: http://x.example/pg\nSuites: bookworm-pgdg\nComponents: main\n", "x.sources"))).toThrow(
      'no apt source of this machine is a Debian archive with "main" to fetch trixie from (sources: x.sources: bookworm-pgdg)',
    );
  });
});
