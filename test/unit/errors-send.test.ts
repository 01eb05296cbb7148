// The daily traceback mail sent for real: by SMTP to a real SMTP server this test starts (the
// smtp-server package, on 127.0.0.1 at a free port), through the same path as the console's
// schedule and `fawkes errors --mail`, over host log files laid out in a temp FAWKES_HOME; and by
// Amazon SES, the SESv2 client under aws-sdk-client-mock (its SendEmail call's raw message).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "../../src/cli/command.ts";
import { errorsCommand } from "../../src/cli/commands/errors.ts";
import { main } from "../../src/cli/main.ts";
import { loadStack, type EnvironmentSpec } from "../../src/config/index.ts";
import { MailError, mailErrorDigest, smtpUrl, type LogsSender } from "../../src/errors/index.ts";
import { envLayout } from "../../src/local/index.ts";
import { mailParts } from "../helpers/mime.ts";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.ts";
import { CHAINED, DJANGO, flaskTraceback } from "./errors-fixtures.ts";

const ROOT = join(import.meta.dirname, "../..");
/** 2026-11-23 12:00:00 UTC: the mail's moment. */
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const TO = ["ops@example.com", "dev@example.com"];

let home: string;
let savedHome: string | undefined;
let savedSmtp: string | undefined;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink({ rejectRecipient: "nobody@example.com" });
});
afterAll(async () => {
  await sink.close();
});
beforeEach(() => {
  savedHome = process.env.FAWKES_HOME;
  savedSmtp = process.env.FAWKES_SMTP_URL;
  home = mkdtempSync(join(tmpdir(), "fawkes-errors-send-"));
  process.env.FAWKES_HOME = home;
  process.env.FAWKES_SMTP_URL = sink.url;
  sink.received.length = 0;
});
afterEach(() => {
  for (const [k, v] of [["FAWKES_HOME", savedHome], ["FAWKES_SMTP_URL", savedSmtp]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(home, { recursive: true, force: true });
});

function devWithMail(mail: Partial<EnvironmentSpec["knobs"]["errorMail"]> = { to: TO }): EnvironmentSpec {
  const spec = loadStack(ROOT, "dev");
  return { ...spec, knobs: { ...spec.knobs, errorMail: { ...spec.knobs.errorMail, ...mail } } };
}

/** A log file of `app` on `host` of the dev stack, written a minute before NOW. */
function hostLog(host: string, app: string, name: string, text: string): void {
  const dir = join(envLayout("dev").hostsDir, host, "upper/var/log/fawkes", app);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
  utimesSync(join(dir, name), (NOW - 60_000) / 1000, (NOW - 60_000) / 1000);
}

const at = (hh: number, mm: number) => `2026-11-23 ${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}:00`;

/** 4 Flask tracebacks over 2 hosts, a chained one on a worker whose `current` link names its release, a Django one. */
function fleetLogs(): void {
  hostLog("dev-web-1", "shop", "web.log", flaskTraceback({ n: 1, time: at(9, 0) }) + flaskTraceback({ n: 2, time: at(10, 0) }) + flaskTraceback({ n: 3, time: at(11, 30) }));
  hostLog("dev-web-2", "shop", "web.log", flaskTraceback({ n: 4, time: at(11, 50), release: "r111111111111" }));
  hostLog("dev-worker-1", "shop", "mailer.log", `processing\n${CHAINED}`);
  const apps = join(envLayout("dev").hostsDir, "dev-worker-1", "upper/srv/apps/shop");
  mkdirSync(apps, { recursive: true });
  symlinkSync("/srv/apps/shop/releases/rwork00000001", join(apps, "current"));
  hostLog("dev-web-1", "blog", "web.log", DJANGO.replace("23/Nov/2026:10:20:41", "23/Nov/2026:11:20:41"));
}

describe("the daily mail by SMTP, to a real SMTP server", () => {
  it("the digest of the 24 h before, per app, grouped and counted, text and HTML, to errorMail.to", async () => {
    fleetLogs();
    const outcome = await mailErrorDigest(devWithMail(), { target: "local", now: NOW });
    expect(outcome).toMatchObject({ sent: true, stack: "dev", to: TO, rejected: [], from: "fawkes@dev.fawkes.test", via: `smtp://127.0.0.1:${sink.port}`, total: 6, kinds: 3 });
    const [msg] = await sink.waitFor(1);
    expect(msg!.from).toBe("fawkes@dev.fawkes.test");
    expect(msg!.to).toEqual(TO);
    const { headers, text, html } = mailParts(msg!.raw);
    expect(headers.get("subject")).toBe("[fawkes/dev] 6 tracebacks of 3 kinds in the 24 h to 2026-11-23 12:00 UTC");
    expect(headers.get("from")).toBe("fawkes@dev.fawkes.test");
    expect(headers.get("to")).toBe("ops@example.com, dev@example.com");
    expect(headers.get("x-fawkes-stack")).toBe("fawkes/dev");
    expect(headers.get("auto-submitted")).toBe("auto-generated");
    expect(headers.get("content-type")).toMatch(/^multipart\/alternative; boundary=/);
    expect(text).toContain("\n\nshop: 5 tracebacks of 2 kinds\n");
    expect(text).toContain("#1  4 × shop.app.FawkesTestError: request N failed on purpose at 0x…\n    first seen  2026-11-23 09:00:00 UTC, in release r2f9c1d0a7b3e\n    last seen   2026-11-23 11:50:00 UTC\n    hosts       dev-web-1 (3), dev-web-2 (1)\n");
    expect(text).toContain("#2  1 × KeyError: 'fallback'\n    first seen  2026-11-23 11:59:00 UTC, in release rwork00000001\n");
    expect(text).toContain("\n\nblog: 1 traceback of 1 kind\n");
    expect(text).toContain("        shop.app.FawkesTestError: request 4 failed on purpose at 0x7f3a");
    expect(html).toContain("<h2 style=\"font-size:16px;margin-top:24px\">shop: 5 tracebacks of 2 kinds</h2>");
    expect(html).toContain("KeyError: &#39;fallback&#39;");
  });

  it("no traceback: a short mail says so; a refused recipient is said, the others get it", async () => {
    hostLog("dev-web-1", "shop", "web.log", "booted\nall quiet\n");
    const outcome = await mailErrorDigest(devWithMail({ to: ["ops@example.com", "nobody@example.com"], from: "alerts@example.org" }), { target: "local", now: NOW });
    expect(outcome).toMatchObject({ sent: true, to: ["ops@example.com"], rejected: ["nobody@example.com"], from: "alerts@example.org", total: 0, kinds: 0 });
    const [msg] = await sink.waitFor(1);
    expect(msg!.to).toEqual(["ops@example.com"]);
    const { headers, text } = mailParts(msg!.raw);
    expect(headers.get("subject")).toBe("[fawkes/dev] no tracebacks in the 24 h to 2026-11-23 12:00 UTC");
    expect(text).toMatch(/^fawkes\/dev: no tracebacks in any app \(shop, blog\)\.\n/);
  });

  it("logs that cannot be read: a mail saying why, and the outcome says it failed", async () => {
    const outcome = await mailErrorDigest(devWithMail(), { target: "local", now: NOW });
    expect(outcome).toMatchObject({ sent: true, total: 0, failed: expect.stringMatching(/^stack dev has no hosts on this machine/) });
    const { headers, text } = mailParts((await sink.waitFor(1))[0]!.raw);
    expect(headers.get("subject")).toBe("[fawkes/dev] the traceback digest failed (local, 2026-11-23 12:00 UTC)");
    expect(text).toContain("stack dev has no hosts on this machine");
  });

  it("no recipients: nothing sent, said plainly", async () => {
    fleetLogs();
    const outcome = await mailErrorDigest(devWithMail({ to: [] }), { target: "local", now: NOW });
    expect(outcome).toEqual({ sent: false, stack: "dev", reason: "errorMail.to of stack dev lists no recipient: nothing sent (set fawkes:errorMail: { to: [...] } in its stack file)" });
    expect(sink.received).toEqual([]);
  });

  it("credentials in FAWKES_SMTP_URL log in, and never reach a message", async () => {
    const locked = await startSmtpSink({ login: { user: "mailer", pass: "s3cr=t/pw" } });
    try {
      fleetLogs();
      const ok = await mailErrorDigest(devWithMail(), { target: "local", now: NOW, env: { FAWKES_SMTP_URL: locked.url } });
      expect(ok).toMatchObject({ sent: true, via: `smtp://127.0.0.1:${locked.port}` });
      expect((await locked.waitFor(1))[0]!.user).toBe("mailer");
      const wrong = locked.url.replace(encodeURIComponent("s3cr=t/pw"), "wrong-password-123");
      const e = await mailErrorDigest(devWithMail(), { target: "local", now: NOW, env: { FAWKES_SMTP_URL: wrong } }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(MailError);
      expect((e as Error).message).toMatch(new RegExp(`^the SMTP server smtp://127\\.0\\.0\\.1:${locked.port} did not take the mail: .*Invalid username or password.* \\(FAWKES_SMTP_URL sets the server\\)$`));
      expect((e as Error).message).not.toContain("wrong-password-123");
      expect(smtpUrl(locked.url).shown).toBe(`smtp://127.0.0.1:${locked.port}`);
    } finally {
      await locked.close();
    }
  });

  it("no server there, or not an SMTP URL: a MailError that says which", async () => {
    fleetLogs();
    const closed = await startSmtpSink();
    const url = closed.url;
    await closed.close();
    const e = await mailErrorDigest(devWithMail(), { target: "local", now: NOW, env: { FAWKES_SMTP_URL: url } }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(new RegExp(`^the SMTP server ${url.replace(/\./g, "\\.")} did not take the mail: .*ECONNREFUSED`));
    for (const bad of ["http://mail.example.com", "localhost:25", "smtp://"]) {
      const b = await mailErrorDigest(devWithMail(), { target: "local", now: NOW, env: { FAWKES_SMTP_URL: bad } }).catch((x: unknown) => x);
      expect(b, bad).toBeInstanceOf(MailError);
      expect((b as Error).message, bad).toMatch(/^FAWKES_SMTP_URL .*smtp:\/\/\[user:password@\]host\[:port\]/);
    }
  });
});

// ---- `fawkes errors --mail`: a project of the test's own whose dev stack sets errorMail ----

function projectWithMail(mail: string): string {
  const root = join(home, "project");
  mkdirSync(join(root, "stacks"), { recursive: true });
  mkdirSync(join(root, "image"), { recursive: true });
  // The catalogue's source dirs must exist; nothing in them is read here.
  for (const dir of ["examples/flask-shop", "examples/django-blog"]) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
  copyFileSync(join(ROOT, "image/recipe.yaml"), join(root, "image/recipe.yaml"));
  writeFileSync(join(root, "stacks/Pulumi.dev.yaml"), `${readFileSync(join(ROOT, "stacks/Pulumi.dev.yaml"), "utf8")}  fawkes:errorMail:\n${mail}`);
  return root;
}

async function cli(argv: string[], cwd: string, deps: Parameters<typeof errorsCommand>[0] = {}): Promise<{ code: number; out: string; err: string }> {
  const cmd = errorsCommand({ now: () => NOW, ...deps });
  let out = "";
  let err = "";
  const code = await cmd.run(parse(cmd, argv), { out: (t) => (out += t), err: (t) => (err += t), cwd });
  return { code, out, err };
}

describe("fawkes errors --mail", () => {
  it("sends now and prints to whom; --json for machines", async () => {
    fleetLogs();
    const root = projectWithMail("    to: [ops@example.com]\n    top: 1\n");
    const r = await cli(["--stack", "dev", "--mail"], root);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe(`sent the traceback digest (6 tracebacks of 3 kinds) of dev to ops@example.com from fawkes@dev.fawkes.test by smtp://127.0.0.1:${sink.port}\n`);
    const { text } = mailParts((await sink.waitFor(1))[0]!.raw);
    // top: 1 per app.
    expect(text).toContain("shop: 5 tracebacks of 2 kinds, the top 1\n");
    expect(text).not.toContain("KeyError");
    const j = await cli(["--stack", "dev", "--mail", "--json"], root);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({ sent: true, stack: "dev", to: ["ops@example.com"], total: 6, kinds: 3, subject: "[fawkes/dev] 6 tracebacks of 3 kinds in the 24 h to 2026-11-23 12:00 UTC" });
  });

  it("no recipients: exit 3, nothing sent; logs unreadable: exit 1 after the mail saying so; usage: exit 2", async () => {
    const none = await cli(["--stack", "dev", "--mail"], ROOT);
    expect(none.code).toBe(3);
    expect(none.out).toBe("errorMail.to of stack dev lists no recipient: nothing sent (set fawkes:errorMail: { to: [...] } in its stack file)\n");
    const root = projectWithMail("    to: [ops@example.com]\n");
    const failed = await cli(["--stack", "dev", "--mail"], root);
    expect(failed.code).toBe(1);
    expect(failed.out).toBe(`sent a mail saying the traceback digest failed of dev to ops@example.com from fawkes@dev.fawkes.test by smtp://127.0.0.1:${sink.port}\n`);
    expect(failed.err).toMatch(/^error: stack dev has no hosts on this machine/);
    const handle = { o: "", e: "" };
    const io = { out: (t: string) => (handle.o += t), err: (t: string) => (handle.e += t), cwd: root };
    expect(await main(["errors", "--stack", "dev", "--mail", "--since", "1h", "--limit", "3"], io)).toBe(2);
    expect(handle.e).toContain("--mail sends the daily digest (the 24 hours before now, every app, the top errorMail.top kinds of each): --since, --limit do not apply");
  });

  it("a server that refuses: exit 1 with its reason, never the URL's credentials", async () => {
    fleetLogs();
    const locked = await startSmtpSink({ login: { user: "mailer", pass: "right-pass" } });
    try {
      process.env.FAWKES_SMTP_URL = locked.url.replace("right-pass", "leaked-pass");
      const r = await cli(["--stack", "dev", "--mail"], projectWithMail("    to: [ops@example.com]\n"));
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      expect(r.err).toMatch(/^error: the SMTP server smtp:\/\/127\.0\.0\.1:\d+ did not take the mail: /);
      expect(r.err + r.out).not.toContain("leaked-pass");
      expect(r.err + r.out).not.toContain("mailer");
    } finally {
      await locked.close();
    }
  });
});

// ---- Amazon SES, under aws-sdk-client-mock ----

/** A CloudWatch Logs double: every query completes at once with the shop's two tracebacks. */
function logsWithTracebacks(): LogsSender {
  const rows = (stream: string, text: string, ts: string, p: string) =>
    text
      .replace(/\n$/, "")
      .split("\n")
      .map((message, i) => [
        { field: "@timestamp", value: ts },
        { field: "@logStream", value: stream },
        { field: "@message", value: message },
        { field: "@ptr", value: `${p}-${i}` },
      ]);
  let q = 0;
  return {
    async send(c: object) {
      if (c instanceof StartQueryCommand) return { queryId: `q${++q}` };
      if (c instanceof GetQueryResultsCommand) {
        const shop = (c.input.queryId ?? "") === "q1";
        return { status: "Complete", results: shop ? [...rows("i-0aaa", flaskTraceback({ n: 1 }), "2026-11-23 10:00:00.000", "a"), ...rows("i-0bbb", flaskTraceback({ n: 2 }), "2026-11-23 11:00:00.000", "b")] : [] };
      }
      throw new Error("unexpected command");
    },
  };
}

describe("the daily mail by Amazon SES (SESv2 under aws-sdk-client-mock; unverified against SES)", () => {
  const ses = mockClient(SESv2Client);
  afterEach(() => {
    ses.reset();
  });

  it("one SendEmail with the raw MIME message, from the sender to the recipients, in the stack's region", async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: "0102019a-abc" });
    const outcome = await mailErrorDigest(devWithMail({ to: ["ops@example.com"], from: "alerts@example.org" }), { target: "aws", now: NOW, logs: logsWithTracebacks(), pollMs: 0 });
    expect(outcome).toMatchObject({ sent: true, to: ["ops@example.com"], from: "alerts@example.org", via: "Amazon SES (eu-west-1)", messageId: "<0102019a-abc@eu-west-1.amazonses.com>", total: 2, kinds: 1 });
    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.FromEmailAddress).toBe("alerts@example.org");
    expect(input.Destination).toEqual({ ToAddresses: ["ops@example.com"] });
    expect(input.Content?.Simple).toBeUndefined();
    const raw = Buffer.from(input.Content!.Raw!.Data!).toString("utf8");
    const { headers, text, html } = mailParts(raw);
    expect(headers.get("subject")).toBe("[fawkes/dev] 2 tracebacks of 1 kind in the 24 h to 2026-11-23 12:00 UTC");
    expect(headers.get("from")).toBe("alerts@example.org");
    expect(headers.get("x-fawkes-stack")).toBe("fawkes/dev");
    expect(text).toContain("#1  2 × shop.app.FawkesTestError: request N failed on purpose at 0x…\n    first seen  2026-11-23 10:00:00 UTC, in release r2f9c1d0a7b3e\n");
    expect(text).toContain("    hosts       i-0aaa (1), i-0bbb (1)\n");
    expect(html).toContain("<td style=\"padding:2px 8px;vertical-align:top;\">r2f9c1d0a7b3e</td>");
    expect(await (calls[0]!.thisValue as SESv2Client).config.region()).toBe("eu-west-1");
  });

  it("SES refuses (an unverified sender): a MailError with what SES needs", async () => {
    ses.on(SendEmailCommand).rejects(Object.assign(new Error("Email address is not verified. The following identities failed the check in region EU-WEST-1: alerts@example.org"), { name: "MessageRejected" }));
    const e = await mailErrorDigest(devWithMail({ to: ["ops@example.com"], from: "alerts@example.org" }), { target: "aws", now: NOW, logs: logsWithTracebacks(), pollMs: 0 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MailError);
    expect((e as Error).message).toBe(
      "Amazon SES (eu-west-1) did not take the mail: MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: alerts@example.org (the sender must be an identity verified in SES in eu-west-1; in the SES sandbox every recipient too; the caller needs ses:SendEmail and ses:SendRawEmail)",
    );
  });
});
