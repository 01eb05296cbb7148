// The catalogue's apps with every default filled in (uid, port, domains, the database password),
// and what only the whole list or the disk can tell: uids and ports that collide, source dirs.
import { DATABASE_PASSWORD, type Catalogue } from "./catalogue.ts";
import type { Problem } from "./errors.ts";
import { derivedUid, FIRST_APP_PORT, type ResolvedApp } from "./spec.ts";

export interface AppsSource {
  /** The file of the catalogue and how its key is shown (`config.catalogue.value`). */
  file: string;
  display: string;
  /** Why an app's source dir cannot be used; absent where no project dir is at hand. */
  sourceDirProblem?: (dir: string) => string | undefined;
}

/** Every app resolved; problems are added to `problems`. */
export function resolveApps(catalogue: Catalogue, from: AppsSource, problems: Problem[]): ResolvedApp[] {
  const at = (i: number, key: string) => `${from.display}.apps[${i}].${key}`;
  const uids = new Map<number, { name: string; index: number; explicit: boolean }>();
  const ports = new Map<number, string>(catalogue.apps.flatMap((a) => (a.port !== undefined ? [[a.port, a.name] as const] : [])));
  let nextPort = FIRST_APP_PORT;
  return catalogue.apps.map((a, i) => {
    const uid = a.uid ?? derivedUid(a.name);
    const owner = uids.get(uid);
    if (owner !== undefined) {
      // Reported where a uid is written: a derived uid has no line of its own to point at.
      const [where, other] = a.uid !== undefined || !owner.explicit ? [i, owner] : [owner.index, { name: a.name, explicit: false }];
      const whose = other.explicit ? `the uid of app "${other.name}"` : `the uid app "${other.name}" derives from its name`;
      problems.push({ file: from.file, path: at(where, "uid"), message: `uid ${uid} is also ${whose}: the two apps would be one unix user and own each other's files; set a distinct uid` });
    } else uids.set(uid, { name: a.name, index: i, explicit: a.uid !== undefined });
    const sourceProblem = from.sourceDirProblem?.(a.source);
    if (sourceProblem !== undefined) problems.push({ file: from.file, path: at(i, "source"), message: sourceProblem });
    let port = a.port;
    if (port === undefined) {
      while (ports.has(nextPort)) nextPort++;
      port = nextPort++;
      ports.set(port, a.name);
    }
    // The database password is a secret like the others: set, stored and fetched the same way.
    const secrets = a.database ? [...a.secrets, DATABASE_PASSWORD] : a.secrets;
    return { ...a, uid, port, secrets, domains: a.domains ?? [a.name] };
  });
}
