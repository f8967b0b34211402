/**
 * Finished records across machines: a queue worker publishes each on a
 * Redis channel, and every server relays them to its event streams (the
 * `piece` events of `/api/batches/:id/events`), wherever the record was
 * rendered.
 *
 * @module
 */
import type { Redis } from "ioredis";
import type { ManifestEntry } from "../batch/manifest.ts";
import type { Logger } from "../render/log.ts";

/** The channel of finished records. */
export const PIECES_CHANNEL = "pressrun:pieces";

/** What a message on the channel holds. */
interface PieceMessage {
  batch: string;
  entry: Pick<ManifestEntry, "index" | "status" | "kind">;
}

/** Tells every server that `entry` of `batch` finished. */
export async function publishPiece(
  client: Redis,
  batch: string,
  entry: ManifestEntry,
): Promise<void> {
  const message: PieceMessage = {
    batch,
    entry: { index: entry.index, status: entry.status, kind: entry.kind },
  };
  await client.publish(PIECES_CHANNEL, JSON.stringify(message));
}

/**
 * Relays the channel's records to `target` as `piece` events (detail:
 * `{ batch, entry }`) on `subscriber`, a client of its own (one that
 * subscribes can send nothing else), until it is closed.
 */
export async function relayPieces(
  subscriber: Redis,
  target: EventTarget,
  log: Logger,
): Promise<void> {
  subscriber.on("message", (channel: string, text: string) => {
    if (channel !== PIECES_CHANNEL) return;
    try {
      const detail = JSON.parse(text) as PieceMessage;
      target.dispatchEvent(new CustomEvent("piece", { detail }));
    } catch (error) {
      log(
        "warn",
        `A bad message on ${PIECES_CHANNEL}: ${(error as Error).message}`,
      );
    }
  });
  await subscriber.subscribe(PIECES_CHANNEL);
}
