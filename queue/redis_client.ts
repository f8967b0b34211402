/**
 * How queue mode reaches Redis: its URL (read and checked), a client that
 * fails fast when Redis cannot be reached at start and, once connected,
 * waits and reconnects with backoff (logged) whenever it goes away, and how
 * such a client is ended.
 *
 * @module
 */
import { Redis, type RedisOptions } from "ioredis";
import { deadline, delay } from "../common/async.ts";
import { TimeoutError, UsageError } from "../common/errors.ts";
import type { Logger } from "../render/log.ts";

const URL_FORM = "redis://[USER:PASSWORD@]HOST[:PORT][/DB]";

/** Where a Redis URL points. */
export interface RedisTarget {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port; 6379 unless the URL names one. */
  port: number;
  /** Database number: the URL's path; 0 unless given. */
  db: number;
  /** ACL user, if the URL names one. */
  username?: string;
  /** Password, if the URL has one (percent-decoded). */
  password?: string;
  /** `rediss://`: TLS. */
  tls: boolean;
}

/** How the store's clients connect. */
export interface ClientSettings {
  options: RedisOptions;
  /** The URL with its password masked. */
  url: string;
  log: Logger;
  timeoutMs: number;
}

/**
 * Reads a `redis://` or `rediss://` URL: host, port (6379), database
 * number (0), user and password.
 * @throws {UsageError} Naming the URL (password masked) if it is not one.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const invalid = (why: string) =>
    new UsageError(`Invalid Redis URL "${maskUrl(url)}": ${why}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`expected ${URL_FORM}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw invalid(`expected ${URL_FORM}`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  if (!host) throw invalid("no host");
  if (!(port >= 1 && port <= 65535)) throw invalid(`bad port ${parsed.port}`);
  const path = parsed.pathname.replace(/^\//, "");
  if (!/^\d*$/.test(path)) throw invalid(`bad database number "${path}"`);
  if (parsed.search || parsed.hash) throw invalid(`expected ${URL_FORM}`);
  return {
    host,
    port,
    db: Number(path),
    username: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    tls: parsed.protocol === "rediss:",
  };
}

/** `url` with the password, if any, as `***`. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^/]*@/i, "$1***@");
}

/**
 * A connected client: fails fast the first time, reconnects with backoff
 * (logging each try) once it has been connected.
 */
export async function openClient(settings: ClientSettings): Promise<Redis> {
  const { url, log, timeoutMs } = settings;
  let connected = false, away = false;
  let lastError: Error | undefined;
  const client = new Redis({
    ...settings.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: null,
    // Dropping a socket (never a QUIT) destroys it at once.
    disconnectTimeout: 0,
    retryStrategy(times: number) {
      if (!connected) return null;
      const ms = reconnectDelay(times);
      const code = (lastError as { code?: string } | undefined)?.code;
      log(
        "warn",
        `Redis at ${url} unreachable (${
          code ?? "connection lost"
        }); retrying in ${ms} ms`,
      );
      lastError = undefined;
      away = true;
      return ms;
    },
  });
  client.on("error", (error: Error) => {
    lastError = error;
  });
  client.on("ready", () => {
    if (away) log("info", `Redis at ${url} is reachable again`);
    away = false;
  });
  try {
    await deadline(client.connect(), timeoutMs, {
      error: () => new TimeoutError(`no answer within ${timeoutMs} ms`),
    });
  } catch (error) {
    await endClient(client);
    const cause = lastError ?? error as Error;
    throw new UsageError(`Cannot reach Redis at ${url}: ${cause.message}`, {
      cause,
    });
  }
  connected = true;
  return client;
}

/**
 * Ends `client`: QUIT while Redis answers, else drops the socket; commands
 * still waiting for Redis fail. Resolves once nothing of it is left (no
 * socket, no timer).
 */
export async function endClient(client: Redis): Promise<void> {
  for (let attempt = 0; attempt < 3 && client.status !== "end"; attempt++) {
    const ended = new Promise((resolve) => client.once("end", resolve));
    if (client.status === "ready") {
      client.quit().catch(() => {});
      if (await deadline(ended, 1000).then(() => true, () => false)) break;
    }
    const waiting = client.status === "reconnecting";
    client.disconnect();
    // Between tries it has no socket to close: one more try, as closing,
    // ends it (or lets its waiting commands through first).
    if (waiting) client.connect().catch(() => {});
    await deadline(ended, 1000).catch(() => {});
  }
  // A handshake cut short disconnects once more, on a 0 ms timer.
  await delay(10);
}

/** The pause before reconnection attempt `times` (1, 2, …), ms: 200 ms doubling to 5 s. */
export function reconnectDelay(times: number): number {
  return Math.min(200 * 2 ** Math.max(0, times - 1), 5000);
}
