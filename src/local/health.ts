import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

/** One GET to a host's app with the app's Host header; resolves the status code (0 = no answer). */
export function httpStatus(ip: string, port: number, path: string, host: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path, method: "GET", headers: { Host: host }, timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end();
  });
}

/**
 * Polls until the app answers 200, at most `tries` times: bounded in count and time. Asked as the
 * ALB asks a target, with Host = its address and port, never a name of the app.
 */
export async function waitHealthy(ip: string, port: number, path: string, tries = 20): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if ((await httpStatus(ip, port, path, `${ip}:${port}`)).status === 200) return true;
    await sleep(250);
  }
  return false;
}
