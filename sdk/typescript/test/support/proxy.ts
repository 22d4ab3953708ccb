// An HTTP proxy in front of `leasing serve` that can lose a response after the server acted on it.

import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface ForwardedCall {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  status: number;
  body: string;
  replayed: boolean;
  dropped: boolean;
}

export class DroppingProxy {
  /** Forward the next N calls, then close the connection instead of answering. */
  dropNext = 0;
  /** Hold each answer this long before sending it. */
  holdMs = 0;
  readonly calls: ForwardedCall[] = [];
  private server: Server | null = null;

  constructor(private readonly upstream: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolveListen) => this.server!.listen(0, "127.0.0.1", resolveListen));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolveClose) => (this.server ? this.server.close(() => resolveClose()) : resolveClose()));
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const target = new URL(req.url ?? "/", this.upstream);
    const upstream = await new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }>(
      (resolveUpstream, reject) => {
        const outgoing = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
          const parts: Buffer[] = [];
          answer.on("data", (part: Buffer) => parts.push(part));
          answer.on("end", () =>
            resolveUpstream({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(parts) }),
          );
        });
        outgoing.on("error", reject);
        outgoing.end(Buffer.concat(chunks));
      },
    );
    const dropped = this.dropNext > 0;
    if (dropped) {
      this.dropNext -= 1;
    }
    const key = req.headers["idempotency-key"];
    this.calls.push({
      method: req.method ?? "",
      path: target.pathname,
      idempotencyKey: Array.isArray(key) ? key[0] : key,
      status: upstream.status,
      body: upstream.body.toString(),
      replayed: upstream.headers["idempotent-replayed"] === "true",
      dropped,
    });
    if (dropped) {
      req.socket.destroy(); // the server acted; the client never hears of it
      return;
    }
    if (this.holdMs > 0) {
      await new Promise((resolveHold) => setTimeout(resolveHold, this.holdMs));
      if (req.socket.destroyed) {
        return;
      }
    }
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }
}
