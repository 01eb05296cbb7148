import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { percentile, runLoad, startLoad, type LoadTarget } from "../../src/local/load.ts";

// A stand-in for HAProxy: a.test answers 200, b.test 503, hang.test never answers, reset.test
// drops the connection.
let server: Server;
let port: number;
const hosts: string[] = [];
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hosts.push(req.headers.host ?? "");
    if (req.headers.host === "hang.test") return;
    if (req.headers.host === "reset.test") return req.socket.destroy();
    res.writeHead(req.headers.host === "a.test" ? 200 : 503, { "content-type": "text/plain" });
    res.end(`${req.headers.host} ${req.url} ${"x".repeat(1000)}`);
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const a: LoadTarget = { name: "app-a", host: "a.test", path: "/health" };
const b: LoadTarget = { name: "app-b", host: "b.test", path: "/" };
const hang: LoadTarget = { name: "hang", host: "hang.test", path: "/" };
const reset: LoadTarget = { name: "reset", host: "reset.test", path: "/" };

describe("percentile (nearest rank)", () => {
  const ms = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  it("picks the value at rank ceil(p/100 * n)", () => {
    expect(percentile(ms, 50)).toBe(5);
    expect(percentile(ms, 90)).toBe(9);
    expect(percentile(ms, 99)).toBe(10);
    expect(percentile(ms, 100)).toBe(10);
    expect(percentile(ms, 0)).toBe(1);
    expect(percentile([15, 20, 35, 40, 50], 30)).toBe(20);
    expect(percentile([15, 20, 35, 40, 50], 40)).toBe(20);
    expect(percentile([15, 20, 35, 40, 50], 41)).toBe(35);
  });

  it("is 0 for no values and refuses p outside 0..100", () => {
    expect(percentile([], 50)).toBe(0);
    expect(() => percentile(ms, 101)).toThrow(RangeError);
    expect(() => percentile(ms, Number.NaN)).toThrow(RangeError);
  });
});

describe("runLoad", () => {
  it("sends exactly maxRequests, round-robin, with each target's Host header and path, over kept-alive connections", async () => {
    hosts.length = 0;
    connections = 0;
    const report = await runLoad({ port, targets: [a, b], concurrency: 4, maxRequests: 40, maxSeconds: 10 });
    expect(report.requests).toBe(40);
    expect(connections).toBeLessThanOrEqual(4);
    expect(hosts).toHaveLength(40);
    expect(hosts.filter((h) => h === "a.test")).toHaveLength(20);
    expect(hosts.filter((h) => h === "b.test")).toHaveLength(20);
    expect(report.samples).toHaveLength(40);
    const sample = report.samples.find((s) => s.target === "app-a")!;
    expect(sample.status).toBe(200);
    expect(sample.body).toHaveLength(512);
    expect(sample.body.startsWith("a.test /health ")).toBe(true);
  });

  it("counts 5xx as failures, per target and in total", async () => {
    const report = await runLoad({ port, targets: [a, b], concurrency: 3, maxRequests: 30, maxSeconds: 10 });
    expect(report.failed).toBe(15);
    expect(report.byTarget["app-a"]).toMatchObject({ requests: 15, failed: 0 });
    expect(report.byTarget["app-b"]).toMatchObject({ requests: 15, failed: 15 });
    expect(report.p99).toBeGreaterThanOrEqual(report.p50);
    expect(report.samples.every((s, i) => i === 0 || s.at >= report.samples[i - 1]!.at)).toBe(true);
  });

  it("stops at maxSeconds, leaving out requests cut short", async () => {
    const t0 = Date.now();
    const report = await runLoad({ port, targets: [hang], concurrency: 2, maxRequests: 1000, maxSeconds: 0.3 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(report.requests).toBe(0);
    expect(report.byTarget.hang).toEqual({ requests: 0, failed: 0, p50: 0, p99: 0 });
  });

  it("records a request past timeoutMs as status 0", async () => {
    const report = await runLoad({ port, targets: [hang], concurrency: 1, maxRequests: 2, maxSeconds: 10, timeoutMs: 100 });
    expect(report.requests).toBe(2);
    expect(report.failed).toBe(2);
    expect(report.samples[0]).toMatchObject({ status: 0, body: "timeout after 100 ms" });
    expect(report.samples[0]!.ms).toBeGreaterThanOrEqual(99);
  });

  it("records a refused connection as status 0", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const report = await runLoad({ port: closedPort, targets: [a], concurrency: 2, maxRequests: 5, maxSeconds: 10 });
    expect(report.requests).toBe(5);
    expect(report.failed).toBe(5);
    expect(report.samples[0]!.body).toContain("ECONNREFUSED");
  });

  it("retries once a request whose kept-alive connection was reset, as browsers do", async () => {
    hosts.length = 0;
    const report = await runLoad({ port, targets: [a, reset], concurrency: 1, maxRequests: 2, maxSeconds: 10 });
    // The retry goes out on a fresh connection, which is not retried again.
    expect(hosts).toEqual(["a.test", "reset.test", "reset.test"]);
    expect(report.requests).toBe(2);
    expect(report.byTarget.reset).toMatchObject({ requests: 1, failed: 1 });
    expect(report.samples[1]).toMatchObject({ status: 0, body: "socket hang up" });
  });

  it("sends nothing when the signal has already aborted", async () => {
    hosts.length = 0;
    const report = await runLoad({ port, targets: [a], concurrency: 2, maxRequests: 10, maxSeconds: 10, signal: AbortSignal.abort() });
    expect(report.requests).toBe(0);
    expect(hosts).toHaveLength(0);
  });

  it("refuses unbounded or empty options, naming each", async () => {
    await expect(runLoad({ port, targets: [], concurrency: 0, maxRequests: Infinity, maxSeconds: Infinity })).rejects.toThrow(
      "load: concurrency: 0 is not a whole number >= 1; maxRequests: Infinity is not a whole number >= 1; maxSeconds: Infinity is not a finite number > 0; targets: none; give at least one",
    );
  });
});

describe("startLoad", () => {
  it("runs until stop(), which returns promptly with the report", async () => {
    const load = startLoad({ port, targets: [a, b, hang], concurrency: 3, maxRequests: 1_000_000, maxSeconds: 60 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const t0 = Date.now();
    const report = await load.stop();
    expect(Date.now() - t0).toBeLessThan(500);
    expect(report.requests).toBeGreaterThan(0);
    expect(report.byTarget["app-a"]!.failed).toBe(0);
    expect(report.byTarget["app-b"]!.failed).toBe(report.byTarget["app-b"]!.requests);
    // The worker stuck on hang.test was cut short: no sample, no failure.
    expect(report.byTarget.hang!.requests).toBe(0);
    expect(report.seconds).toBeLessThan(2);
  });

  it("throws bad options at once, not from stop()", () => {
    expect(() => startLoad({ port, targets: [a], concurrency: 1, maxRequests: 1, maxSeconds: 0 })).toThrow("maxSeconds: 0");
  });
});
