/**
 * A real redis-server of the test's own: started on a free loopback port
 * with its data in a temporary folder, killed and restarted on demand (the
 * kill -9 tests), stopped and its folder removed at the end. Nothing here
 * assumes a Redis already running; setup.sh installs the server.
 *
 * ```ts ignore
 * await using redis = await startRedis({ appendonly: true });
 * await using kv = await RedisKv.connect(redis.url);
 * ```
 *
 * @module
 */
import { delay } from "../common/async.ts";

/** Where setup.sh installs the server. */
const REDIS_SERVER = "/usr/bin/redis-server";

/** How long a starting server has to answer PING, ms. */
const START_TIMEOUT_MS = 5000;

/** Options for {@linkcode startRedis}. */
export interface RedisServerOptions {
  /**
   * Log every write to an append-only file, fsynced at once, so that data
   * survives a kill -9.
   * @default false
   */
  appendonly?: boolean;
  /**
   * The server's data folder, kept at the end.
   * @default a new temporary folder, removed at the end
   */
  dir?: string;
  /**
   * The loopback port to listen on.
   * @default a free one
   */
  port?: number;
}

/** A running redis-server that the test owns. */
export class RedisServer implements AsyncDisposable {
  #args: string[];
  #port: number;
  #dir: string;
  #ownsDir: boolean;
  #process: Deno.ChildProcess | undefined;
  #output: Promise<string> = Promise.resolve("");
  #closed = false;

  /**
   * A server not started yet, on `port` with its data in `options.dir`:
   * {@linkcode startRedis} makes one and starts it.
   */
  constructor(
    port: number,
    options: {
      dir: string;
      /** Remove `dir` at the end. */
      ownsDir: boolean;
      /** Log writes to an append-only file, fsynced at once. */
      appendonly: boolean;
    },
  ) {
    const { dir, appendonly: aof } = options;
    this.#port = port;
    this.#dir = dir;
    this.#ownsDir = options.ownsDir;
    this.#args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      dir,
      "--daemonize",
      "no",
      "--appendonly",
      aof ? "yes" : "no",
      ...(aof ? ["--appendfsync", "always"] : []),
    ];
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }

  /** The loopback port it listens on. */
  get port(): number {
    return this.#port;
  }

  /** Its data folder. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * Starts the server (again, on the same port and folder) and waits until
   * it answers PING.
   * @throws {Error} With the server's output if it exits or stays silent.
   */
  async restart(): Promise<void> {
    if (this.#closed || this.#process) {
      throw new Error(`Redis on port ${this.#port} is running or closed`);
    }
    const process = new Deno.Command(REDIS_SERVER, {
      args: this.#args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#process = process;
    this.#output = Promise.all([
      new Response(process.stdout).text(),
      new Response(process.stderr).text(),
    ]).then(([out, err]) => out + err);
    let exited = false;
    process.status.then(() => exited = true);
    const until = Date.now() + START_TIMEOUT_MS;
    while (!exited && Date.now() < until) {
      if (await answersPing(this.#port, process.pid)) return;
      await delay(20);
    }
    await this.#stop("SIGKILL");
    const why = exited
      ? "exited"
      : `did not answer PING within ${START_TIMEOUT_MS} ms`;
    throw new Error(
      `redis-server on port ${this.#port} ${why}:\n${await this.#output}`,
    );
  }

  /** Kills the server with SIGKILL and waits until it is gone. */
  async kill9(): Promise<void> {
    await this.#stop("SIGKILL");
  }

  /**
   * Stops the server (SIGTERM) and removes its folder if it made it. Safe
   * to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stop("SIGTERM");
    if (this.#ownsDir) await Deno.remove(this.#dir, { recursive: true });
  }

  /** Same as {@linkcode RedisServer.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #stop(signal: Deno.Signal): Promise<void> {
    const process = this.#process;
    if (!process) return;
    this.#process = undefined;
    try {
      process.kill(signal);
    } catch {
      // Already exited: its status below is all there is to wait for.
    }
    await process.status;
    await this.#output;
  }
}

/**
 * Starts a redis-server of the test's own (see {@linkcode RedisServer})
 * and waits until it answers PING.
 * @throws {Error} If redis-server is not installed (run ./setup.sh), or
 * does not start.
 */
export async function startRedis(
  options: RedisServerOptions = {},
): Promise<RedisServer> {
  try {
    await Deno.stat(REDIS_SERVER);
  } catch (error) {
    throw new Error(
      `Cannot start Redis: ${REDIS_SERVER} is missing; run ./setup.sh`,
      { cause: error },
    );
  }
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "redis-" });
  // A free port can be taken by someone else before the server binds it:
  // then try another one.
  for (let attempt = 1;; attempt++) {
    const port = options.port ?? freePort();
    const server = new RedisServer(port, {
      dir,
      ownsDir: options.dir === undefined,
      appendonly: options.appendonly ?? false,
    });
    try {
      await server.restart();
      return server;
    } catch (error) {
      if (options.port !== undefined || attempt === 3) {
        await server.close();
        throw error;
      }
    }
  }
}

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Whether the Redis on `port` is the process `pid` (not another that took
 * the port) and answers PING with PONG (not LOADING).
 */
async function answersPing(port: number, pid: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  // Something that accepts but stays silent (a listener that never reads)
  // must not hold the poll: the socket is closed after 500 ms.
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const open = conn;
    timer = setTimeout(() => {
      conn = undefined;
      open.close();
    }, 500);
    await conn.write(new TextEncoder().encode("PING\r\nINFO server\r\n"));
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!/process_id:\d+\r\n/.test(text) && text.length < 65536) {
      const read = await conn.read(buffer);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
    }
    return text.startsWith("+PONG") && text.includes(`process_id:${pid}\r\n`);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    conn?.close();
  }
}
