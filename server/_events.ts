/**
 * Server-Sent Events for a batch.
 *
 * @module
 */
import type { ManifestEntry } from "../batch/manifest.ts";
import type { BatchStatus, JobStore } from "../batch/store.ts";
import { isTerminal } from "../common/rules.js";

/** The status as clients see it: no worker bookkeeping. */
export function publicStatus(s: BatchStatus) {
  const { worker: _w, heartbeatAt: _h, ...rest } = s;
  return rest;
}

/** The events of a batch's stream and what each carries; web/ reads them. */
export interface BatchEvents {
  /** The status, whenever it changes. */
  progress: ReturnType<typeof publicStatus>;
  /** A finished record (rendered in this process). */
  piece: Pick<ManifestEntry, "index" | "status" | "kind">;
  /** The final status; the stream ends. */
  end: ReturnType<typeof publicStatus>;
  /** The stream could not go on. */
  error: { message: string };
}

/**
 * A batch's progress as Server-Sent Events: `progress` whenever the status
 * changes, `piece` for each finished record (same process), `end` at the end.
 * The stream ends with the batch, or at shutdown; a client that goes away
 * cancels it.
 */
export async function eventStream(
  store: JobStore,
  id: string,
  options: { pieces?: EventTarget; shutdown?: AbortSignal } = {},
): Promise<Response> {
  await store.batch(id);
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let onPiece: ((e: Event) => void) | undefined;
  const stop = () => {
    clearInterval(timer);
    if (onPiece) options.pieces?.removeEventListener("piece", onPiece);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = <K extends keyof BatchEvents>(
        event: K,
        data: BatchEvents[K],
      ) => {
        try {
          controller.enqueue(
            encoder.encode(
              `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
            ),
          );
        } catch {
          stop();
        }
      };
      onPiece = (e) => {
        const { batch, entry } = (e as CustomEvent).detail;
        if (batch === id) {
          send("piece", {
            index: entry.index,
            status: entry.status,
            kind: entry.kind,
          });
        }
      };
      options.pieces?.addEventListener("piece", onPiece);
      let last = "";
      const tick = async () => {
        try {
          const status = publicStatus(await store.batch(id));
          const text = JSON.stringify(status);
          if (text !== last) {
            last = text;
            send("progress", status);
          }
          if (isTerminal(status.state)) {
            send("end", status);
            stop();
            controller.close();
          }
        } catch (error) {
          send("error", { message: (error as Error).message });
          stop();
          controller.close();
        }
      };
      tick();
      timer = setInterval(tick, 250);
      options.shutdown?.addEventListener("abort", () => {
        stop();
        try {
          controller.close();
        } catch { /* already closed */ }
      }, { once: true });
    },
    cancel: stop,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "connection": "keep-alive",
    },
  });
}
