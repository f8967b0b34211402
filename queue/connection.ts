/**
 * How queue mode reaches Redis: the URL (`--queue` or `PRESSRUN_REDIS_URL`)
 * and the connection settings BullMQ's clients are made with — commands
 * wait while Redis is away (no per-request retry limit, as BullMQ's
 * workers require), and each reconnection is tried after a growing pause,
 * logged.
 *
 * @module
 */
import type { ConnectionOptions } from "bullmq";
import { type Logger, silentLogger } from "../render/log.ts";
import { maskUrl, parseRedisUrl, reconnectDelay } from "./redis_client.ts";

/** The environment variable naming the queue's Redis. */
export const REDIS_URL_ENV = "PRESSRUN_REDIS_URL";

/** Connection settings of BullMQ's clients. */
export type BullConnection = ConnectionOptions;

/**
 * The queue's Redis URL: `flag` (`--queue`), else `PRESSRUN_REDIS_URL`;
 * undefined for the embedded store.
 */
export function queueUrl(
  flag: string | undefined,
  env: { get(name: string): string | undefined } = Deno.env,
): string | undefined {
  const url = flag ?? env.get(REDIS_URL_ENV);
  return url?.trim() || undefined;
}

/** BullMQ's connection settings for the Redis at `url`. */
export function bullConnection(
  url: string,
  log: Logger = silentLogger,
): BullConnection {
  const { host, port, db, username, password, tls } = parseRedisUrl(url);
  return {
    host,
    port,
    db,
    username,
    password,
    ...(tls && { tls: {} }),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => {
      const ms = reconnectDelay(times);
      if (times === 1 || times % 10 === 0) {
        log(
          "warn",
          `The queue's Redis (${
            maskUrl(url)
          }) does not answer; trying again in ${ms} ms`,
        );
      }
      return ms;
    },
  };
}
