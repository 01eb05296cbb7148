// Names an app cannot take. An app's name becomes a unix user and group on every host and, with a
// database, its role (the name with '-' as '_'): a name that is already an identity there would make
// the app run as it, share its files or be granted its rights. `check` refuses them with the reason
// (the catalogue's schema); test/validators/reserved-names.test.ts proves the host list covers every
// user and group of the golden image.

/** The users and groups of the hosts' image: Debian 13's base and those its packages add. */
export const HOST_ACCOUNTS: readonly string[] = [
  "adm", "audio", "backup", "bin", "cdrom", "daemon", "dhcpcd", "dialout", "dip", "disk", "dnsmasq", "fax", "floppy", "games", "irc", "kmem", "list", "lp", "mail",
  "man", "messagebus", "news", "nobody", "nogroup", "operator", "plugdev", "postgres", "proxy", "root", "sasl", "shadow", "src", "ssl-cert", "staff", "statd",
  "stunnel4", "sudo", "sync", "sys", "systemd-journal", "systemd-network", "tape", "tty", "users", "utmp", "uucp", "video", "voice", "www-data",
];

/** The RDS master user fawkes creates (the database's owner of owners). */
export const DATABASE_MASTER_USER = "fawkes_admin";

/** Roles PostgreSQL and RDS keep for themselves, and role names SQL reads as keywords. */
const RESERVED_ROLES: readonly string[] = ["postgres", "rdsadmin", "rdsrepladmin", "rdstopmgr", "public", "none", "current_role", "current_user", "session_user", DATABASE_MASTER_USER];
/** PostgreSQL refuses roles named pg_*; RDS keeps rds_* for its own. */
const RESERVED_ROLE_PREFIXES: readonly string[] = ["pg_", "rds_"];

/** Why an app may not be named `name` (a host's user or group, or a reserved database role), or undefined. */
export function reservedAppNameProblem(name: string): string | undefined {
  if (HOST_ACCOUNTS.includes(name)) {
    return `"${name}" is a user or group of the hosts' image (Debian's or a package's): the app's processes would run as it and own its files; name the app after what it is (for example "${name}-app")`;
  }
  const role = name.replace(/-/g, "_");
  if (RESERVED_ROLES.includes(role)) {
    return `"${name}" would be the database role "${role}", ${role === DATABASE_MASTER_USER ? "the master user fawkes makes to own every app's role" : "a role PostgreSQL or RDS keeps for itself (or an SQL keyword)"}: the app would be granted what it holds; rename the app`;
  }
  const prefix = RESERVED_ROLE_PREFIXES.find((p) => role.startsWith(p));
  if (prefix !== undefined) {
    return `"${name}" would be the database role "${role}", and ${prefix === "pg_" ? "PostgreSQL refuses roles named pg_*" : "RDS keeps roles named rds_* for its own"}; rename the app so it does not start with "${prefix.replace("_", "-")}"`;
  }
  return undefined;
}
