// A real SMTP server for tests (the smtp-server package) on 127.0.0.1 at a free port: it keeps
// every message it receives, raw, with its envelope and the login used. No STARTTLS (no
// certificate to trust); AUTH over plain text only when the test asks for a login.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface Received {
  from: string;
  to: string[];
  raw: string;
  user?: string;
}

export interface SmtpSink {
  /** smtp://127.0.0.1:<port>, with the login when one is required. */
  url: string;
  port: number;
  received: Received[];
  /** Resolves when `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startSmtpSink(opts: { login?: { user: string; pass: string }; rejectRecipient?: string } = {}): Promise<SmtpSink> {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: opts.login ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    authOptional: !opts.login,
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      if (opts.login && auth.username === opts.login.user && auth.password === opts.login.pass) return cb(null, { user: auth.username });
      return cb(new Error("Invalid username or password"));
    },
    onRcptTo(address, _session, cb) {
      if (address.address === opts.rejectRecipient) return cb(Object.assign(new Error(`no mailbox ${address.address}`), { responseCode: 550 }));
      return cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const from = session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address;
        received.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8"), ...(typeof session.user === "string" ? { user: session.user } : {}) });
        for (const w of waiters.splice(0)) w();
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const auth = opts.login ? `${encodeURIComponent(opts.login.user)}:${encodeURIComponent(opts.login.pass)}@` : "";
  return {
    url: `smtp://${auth}127.0.0.1:${port}`,
    port,
    received,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`the SMTP sink received ${received.length} messages, not ${n}, in ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
