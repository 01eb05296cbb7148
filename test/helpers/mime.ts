// A small reader of the MIME messages nodemailer writes, for tests: headers (unfolded, RFC 2047
// words decoded), and the parts of a multipart body decoded from quoted-printable or base64.
// Enough for a text/plain + text/html alternative; not a general mail parser.

export interface MimePart {
  headers: Map<string, string>;
  /** The body, decoded (text parts as UTF-8). */
  body: string;
  parts: MimePart[];
}

function decodeWords(value: string): string {
  // Whitespace between two encoded words is not part of the text (RFC 2047, 6.2).
  return value.replace(/(\?=)\s+(?==\?)/g, "$1").replace(/=\?[^?]+\?([QqBb])\?([^?]*)\?=/g, (_m, enc: string, text: string) => (enc.toUpperCase() === "B" ? Buffer.from(text, "base64").toString("utf8") : qp(text.replace(/_/g, " "))));
}

function qp(text: string): string {
  const bytes: number[] = [];
  const s = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(s[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

export function parseMime(raw: string): MimePart {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const head = split < 0 ? text : text.slice(0, split);
  let body = split < 0 ? "" : text.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.toLowerCase().startsWith("multipart/") && boundary) {
    const chunks = body.split(`--${boundary}`);
    const parts = chunks.slice(1).filter((c) => !c.startsWith("--")).map((c) => parseMime(c.replace(/^\n/, "").replace(/\n$/, "")));
    return { headers, body: "", parts };
  }
  const cte = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  if (cte === "quoted-printable") body = qp(body);
  else if (cte === "base64") body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  return { headers, body, parts: [] };
}

/** The text/plain and text/html parts of a message (searched through nested multiparts). */
export function mailParts(raw: string): { headers: Map<string, string>; text: string; html: string } {
  const root = parseMime(raw);
  const find = (p: MimePart, t: string): string | undefined => {
    if (p.parts.length === 0) return (p.headers.get("content-type") ?? "text/plain").toLowerCase().startsWith(t) ? p.body : undefined;
    for (const c of p.parts) {
      const f = find(c, t);
      if (f !== undefined) return f;
    }
    return undefined;
  };
  return { headers: root.headers, text: find(root, "text/plain") ?? "", html: find(root, "text/html") ?? "" };
}
