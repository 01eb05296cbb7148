import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { HEALTH_CHECK_USER_AGENT, statusAccepted, type Health } from "../config/index.ts";

/** One request to a host's app with the Host header given; resolves the status code (0 = no answer). */
export function httpStatus(ip: string, port: number, path: string, host: string, timeoutMs = 2000, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path, method: opts.method ?? "GET", headers: { ...opts.headers, Host: host }, timeout: timeoutMs }, (res) => {
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
 * Asks an app's health path once as the ALB asks a target: Host = its address and port, never a
 * name of the app, the catalogue's method, and fawkes' checker User-Agent (kept out of the access logs).
 */
export async function healthCheck(ip: string, port: number, health: Pick<Health, "path" | "method" | "statuses">, timeoutMs = 2000): Promise<{ healthy: boolean; status: number }> {
  const { status } = await httpStatus(ip, port, health.path, `${ip}:${port}`, timeoutMs, { method: health.method, headers: { "User-Agent": HEALTH_CHECK_USER_AGENT } });
  return { healthy: status !== 0 && statusAccepted(health.statuses, status), status };
}

/** Polls until the app answers one of its health statuses, at most `tries` times: bounded in count and time. */
export async function waitHealthy(ip: string, port: number, health: Pick<Health, "path" | "method" | "statuses">, tries = 20): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if ((await healthCheck(ip, port, health)).healthy) return true;
    await sleep(250);
  }
  return false;
}
