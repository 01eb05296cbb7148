// The page the load balancer answers for an app in maintenance: the ALB's fixed response on AWS,
// HAProxy's `http-request return` locally. The same bytes on both.

/** The ALB's limit on a fixed response's body. */
export const ALB_FIXED_RESPONSE_MAX_BYTES = 1024;

/** What clients are told to wait before trying again, in seconds (HAProxy sends it as Retry-After). */
export const MAINTENANCE_RETRY_AFTER_SECONDS = 300;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small self-contained HTML page (no external resources) within the ALB's 1024 bytes. */
export function maintenancePage(app: string): string {
  const name = escapeHtml(app);
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name}: down for maintenance</title>
<style>body{font:1.1em/1.5 system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em;color:#222}</style>
</head><body><h1>Down for maintenance</h1>
<p>${name} is down for maintenance and will be back shortly. Please try again in a few minutes.</p>
</body></html>
`;
  if (Buffer.byteLength(page) > ALB_FIXED_RESPONSE_MAX_BYTES) throw new Error(`the maintenance page of ${app} is ${Buffer.byteLength(page)} bytes; the ALB answers at most ${ALB_FIXED_RESPONSE_MAX_BYTES}`);
  return page;
}
