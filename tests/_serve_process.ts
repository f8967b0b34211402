/**
 * `server.ts` as its own process, for tests of what the command does (its
 * defaults, its memory), and raw HTTP requests that say what a browser's
 * fetch() may not (a Host header of another name).
 *
 * @module
 */

/** A running `deno run server.ts`; disposing stops it (SIGTERM) and waits. */
export interface ServeProcess extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, as the server logged it. */
  url: string;
  port: number;
  pid: number;
}

/**
 * Starts `server.ts` with `args` (after `--port 0 --data-dir DATA`), with no
 * token and no allow-list from the environment unless `env` sets them, and
 * `TMPDIR` set to `tmp`; resolves once it listens.
 */
export async function serveProcess(
  options: {
    dataDir: string;
    tmp: string;
    args?: string[];
    env?: Record<string, string>;
  },
): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "server.ts",
      "--port",
      "0",
      "--data-dir",
      options.dataDir,
      ...options.args ?? [],
    ],
    env: {
      TMPDIR: options.tmp,
      NO_COLOR: "1",
      PRESSRUN_TOKEN: "",
      PRESSRUN_ALLOW_HOSTS: "",
      ...options.env,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const listening = /listening on (http:\/\/[^\s:]+:(\d+)) /;
  while (!listening.test(text)) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error(`The server exited: ${text}`);
    }
    text += value;
  }
  const [, url, port] = listening.exec(text)!;
  // Keep draining stderr so the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return {
    url: url!,
    port: Number(port),
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
      await drained;
    },
  };
}

/** A response read off the socket: status, headers (lower-case), body. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request over a new connection to 127.0.0.1:`port`, with the
 * `Host` header given (fetch() always sends the URL's own).
 */
export async function rawRequest(
  port: number,
  request: { method?: string; path: string; host: string; body?: string },
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const body = request.body ?? "";
  const head = [
    `${request.method ?? "GET"} ${request.path} HTTP/1.1`,
    `Host: ${request.host}`,
    "Connection: close",
    `Content-Length: ${new TextEncoder().encode(body).length}`,
    "",
    "",
  ].join("\r\n");
  const chunks: Uint8Array[] = [];
  try {
    await conn.write(new TextEncoder().encode(head + body));
    // The readable side closes the connection when the server does.
    for await (const chunk of conn.readable) chunks.push(chunk);
  } finally {
    try {
      conn.close();
    } catch {
      // Closed with its readable side.
    }
  }
  const text = new TextDecoder().decode(
    new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer()),
  );
  const [top = "", ...rest] = text.split("\r\n\r\n");
  const [statusLine = "", ...headerLines] = top.split("\r\n");
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers.set(
      line.slice(0, colon).trim().toLowerCase(),
      line.slice(colon + 1).trim(),
    );
  }
  let payload = rest.join("\r\n\r\n");
  if (headers.get("transfer-encoding") === "chunked") {
    payload = unchunk(payload);
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: payload };
}

/** The body of a chunked transfer encoding. */
function unchunk(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const end = text.indexOf("\r\n", at);
    const size = parseInt(text.slice(at, end), 16);
    if (!(size > 0)) return out;
    out += text.slice(end + 2, end + 2 + size);
    at = end + 2 + size + 2;
  }
}
