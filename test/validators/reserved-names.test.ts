// Apps cannot be named like an identity of the hosts (issue 17, finding 6): the list `check` refuses
// covers every user and group of the golden image that an app name could spell.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AppName } from "../../src/config/primitives.ts";
import { HOST_ACCOUNTS, reservedAppNameProblem } from "../../src/names/index.ts";
import { goldenImage } from "../helpers/image-root.ts";

describe("names an app cannot take", () => {
  it("include every user and group of the golden image that is a valid app name", async () => {
    const image = await goldenImage();
    const names = (file: string) => readFileSync(join(image.rootfs, file), "utf8").split("\n").filter(Boolean).map((l) => l.split(":")[0]!);
    const spellable = [...new Set([...names("etc/passwd"), ...names("etc/group")])].filter((n) => AppName.safeParse(n).success);
    expect(spellable.length).toBeGreaterThan(10);
    expect(spellable.filter((n) => !HOST_ACCOUNTS.includes(n))).toEqual([]);
    for (const n of spellable) expect(reservedAppNameProblem(n), n).toContain("user or group of the hosts' image");
  });

  it("leave ordinary app names alone", () => {
    for (const n of ["shop", "blog", "radicale", "postgresql-admin-ui", "mailer", "www", "pgbouncer-stats"]) expect(reservedAppNameProblem(n), n).toBeUndefined();
  });
});
