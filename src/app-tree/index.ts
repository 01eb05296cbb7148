// Reading, as root on the machine, files that live in a tree an app's user can write (its shared
// dir, its logs on a host's disk). The app may have planted a link there, so that root would print
// or copy /etc/shadow: nothing here follows one. A file is opened without following its last
// component (O_NOFOLLOW), without blocking on a FIFO (O_NONBLOCK), and kept only when the kernel
// says the file opened is the regular file at exactly that path: a link anywhere on the way, or a
// directory swapped for one after a check, shows as another path in /proc/self/fd.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join, relative } from "node:path";

export class AppTreeError extends Error {
  override name = "AppTreeError";
}

/** `rel` under `root` (a leading / is root's own: `/var/log` of a host's disk), refused when it climbs out by `..`. */
function inside(root: string, rel: string): string {
  const base = realpathSync(root);
  const path = join(base, rel);
  const back = relative(base, path);
  if (back === "" || back.startsWith("..")) throw new AppTreeError(`${rel} is not a path inside ${root}`);
  return path;
}

/** The open file's own path, by the kernel: where a link led, not the name that was opened. */
const openedPath = (fd: number) => readlinkSync(`/proc/self/fd/${fd}`);

/**
 * The bytes of `root/rel`, a regular file reached without a link; an AppTreeError naming the path
 * otherwise (a link, a FIFO, a device, a directory, or a file that is not there).
 */
export function readAppFile(root: string, rel: string): Buffer {
  const path = inside(root, rel);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw new AppTreeError(`${path} is a symbolic link; fawkes reads only regular files in an app's tree`);
    throw new AppTreeError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new AppTreeError(`${path} is not a regular file; fawkes reads only regular files in an app's tree`);
    if (openedPath(fd) !== path) throw new AppTreeError(`${path} is reached through a symbolic link (it opened ${openedPath(fd)}); fawkes follows no link in an app's tree`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The regular files directly in `root/rel` (not links, FIFOs or dirs), sorted; none when the dir is
 * missing. The dir itself must be reached without a link.
 */
export function appFilesIn(root: string, rel: string): string[] {
  const dir = inside(root, rel);
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return [];
  }
  if (real !== dir) throw new AppTreeError(`${dir} is reached through a symbolic link (to ${real}); fawkes follows no link in an app's tree`);
  return readdirSync(dir)
    .filter((name) => lstatSync(join(dir, name)).isFile())
    .sort();
}
