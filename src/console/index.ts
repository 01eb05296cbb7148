// src/console: the deploy console (`fawkes console`). Environments × apps and the release each
// serves, push history with output, release and rollback with live output, the deploy lock,
// maintenance, QA environments and top tracebacks; roles per environment by group (the `access`
// knob), people from a users file here or the ALB's signed OIDC header on AWS. Pages are pure
// (pages.ts, html.ts, access.ts); the server, the actions and the views read and run the library.
export { ACTION_ROLES, allows, consoleWho, roleIn, type ConsoleAction, type Principal } from "./access.ts";
export { albVerifier, AlbIdentityError, type AlbIdentity, type AlbVerifierOptions } from "./alb-identity.ts";
export { appendAudit, auditFile, readAudit, type AuditEntry } from "./audit.ts";
export { escapeHtml, html, Html } from "../html/index.ts";
export { LiveOutput, type LiveLine, type LiveRun } from "./live.ts";
export { startConsole, type ConsoleAuth, type ConsoleOptions, type ConsoleServer } from "./server.ts";
export { authenticate, ConsoleUsersError, hashPassword, readUsers, removeUser, setUser, UserName, usersFile, verifyPassword, type ConsoleUser } from "./users.ts";
export { consoleStacks, environments, projectStacks, type ConsoleContext, type EnvView } from "./view.ts";
