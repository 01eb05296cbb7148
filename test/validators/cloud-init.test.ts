// cloud-init's own schema check over the user-data of every host of every stack, and the facts the
// other validators rely on: the bytes both targets boot are this text, and write_files and the
// bundle the stage-1 script unpacks deliver exactly the files the validators check, with owners
// that exist when they are written.
import { afterAll, describe, expect, test } from "vitest";
import { USER_DATA_LIMIT } from "../../src/render/index.ts";
import { cloudInitSchema, userDataBytes, writeFilesMatchImage, writeFilesOwners } from "../helpers/checks/cloud-init.ts";
import { allHosts, renderAllStacks, scratchDir } from "../helpers/rendered-hosts.ts";

const hosts = allHosts(renderAllStacks());
const scratch = scratchDir("cloud-init");
afterAll(() => scratch.remove());

describe.concurrent("cloud-init", () => {
  for (const host of hosts) {
    test(`${host.label}: \`cloud-init schema\` says the user-data is valid, with no deprecated key`, async () => {
      expect(await cloudInitSchema(host, scratch.sub(host.label)), host.label).toEqual([]);
    });

    test(`${host.label}: the user-data bytes are the text, gzipped only past ${USER_DATA_LIMIT} bytes, and fit`, () => {
      expect(userDataBytes(host), host.label).toEqual([]);
    });

    test(`${host.label}: write_files and the bundle deliver every file of the image once, byte for byte, and no other`, () => {
      expect(writeFilesMatchImage(host), host.label).toEqual([]);
    });

    test(`${host.label}: every write_files owner exists when cloud-init writes the file`, () => {
      expect(writeFilesOwners(host), host.label).toEqual([]);
    });
  }
});
