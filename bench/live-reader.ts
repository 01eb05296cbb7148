// The console's event stream read by a process of its own, as a browser reads it: the server's
// work never delays this side's clock. Prints "ready" once the stream is open, then one JSON line
// per event: its name, its data, and `got`, when it arrived (epoch ms, as LiveLine.at is).
// Usage: node --import tsx bench/live-reader.ts <port> <path> <cookie>
import { request } from "node:http";

const [port, path, cookie] = process.argv.slice(2);
if (!port || !path || !cookie) {
  process.stderr.write("usage: live-reader.ts <port> <path> <cookie>\n");
  process.exit(2);
}

const req = request({ host: "127.0.0.1", port: Number(port), path, headers: { cookie, accept: "text/event-stream" } }, (res) => {
  if (res.statusCode !== 200) {
    process.stderr.write(`live-reader: GET ${path}: HTTP ${res.statusCode}\n`);
    process.exit(1);
  }
  process.stdout.write("ready\n");
  let buffered = "";
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    const got = Date.now();
    buffered += chunk;
    for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) process.stdout.write(`${JSON.stringify({ event, got, data: JSON.parse(data) as unknown })}\n`);
    }
  });
  res.on("end", () => process.exit(0));
});
req.on("error", (e) => {
  process.stderr.write(`live-reader: ${e.message}\n`);
  process.exit(1);
});
req.end();
// The bench closes stdin when it is done (or dies): so does the reader.
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
