/**
 * The heartbeat of a worker's running batch, on a thread of its own (a Web
 * Worker started by `Heartbeat`): it renews the lease the worker holds every
 * `everyMs` with its own KV handle, so a main thread kept busy (a huge
 * request, a long synchronous step) cannot let the lease lapse. It stops
 * renewing once the main thread has given no sign of life for `maxStallMs`:
 * a process stuck for good loses its batch to another worker.
 *
 * Messages in: {@linkcode HeartbeatCommand}; out: {@linkcode HeartbeatEvent}.
 *
 * @module
 */
import { LeaseLostError } from "../common/errors.ts";
import { type Lease, updateStatus } from "./_lease.ts";

/** The fields of a batch's status the heartbeat reads and writes. */
interface Beat {
  heartbeatAt?: number;
  cancelRequested?: boolean;
}

/** What the main thread tells the heartbeat thread. */
export type HeartbeatCommand =
  | {
    type: "open";
    kvPath: string;
    everyMs: number;
    maxStallMs: number;
    /** The main thread's last sign of life, ms since epoch, at index 0. */
    alive: BigInt64Array;
  }
  /** Renew this lease from now on. */
  | { type: "hold"; lease: Lease }
  /** Renew none. */
  | { type: "release" }
  | { type: "close" };

/** What the heartbeat thread tells the main thread, about `lease`. */
export type HeartbeatEvent =
  /** The thread has its KV handle and beats from now on. */
  | { type: "ready" }
  | { type: "cancel"; lease: Lease }
  | { type: "lost"; lease: Lease; message: string }
  | { type: "closed" };

let held: Lease | undefined;
let closing = false;
let wake: (() => void) | undefined;

addEventListener("message", (event: MessageEvent<HeartbeatCommand>) => {
  const command = event.data;
  switch (command.type) {
    case "open":
      beat(command);
      break;
    case "hold":
      held = command.lease;
      break;
    case "release":
      held = undefined;
      break;
    case "close":
      closing = true;
      wake?.();
  }
});

function tell(event: HeartbeatEvent): void {
  postMessage(event);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

async function beat(
  options: Extract<HeartbeatCommand, { type: "open" }>,
): Promise<void> {
  const kv = await Deno.openKv(options.kvPath);
  tell({ type: "ready" });
  try {
    while (!closing) {
      await sleep(options.everyMs);
      const lease = held;
      if (closing || !lease) continue;
      const silentMs = Date.now() - Number(Atomics.load(options.alive, 0));
      if (silentMs > options.maxStallMs) continue;
      try {
        const status = await updateStatus<Beat>(
          kv,
          lease.batch,
          { heartbeatAt: Date.now() },
          { lease },
        );
        if (status.cancelRequested && held === lease) {
          tell({ type: "cancel", lease });
        }
      } catch (error) {
        if (error instanceof LeaseLostError && held === lease) {
          held = undefined;
          tell({ type: "lost", lease, message: error.message });
        }
        // Another failed write (a full disk, say) is tried at the next beat.
      }
    }
  } finally {
    kv.close();
    tell({ type: "closed" });
  }
}
