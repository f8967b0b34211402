/**
 * Keeping a worker's lease on its running batch alive off the main thread.
 * {@linkcode Heartbeat} runs `_heartbeat_thread.ts` as a Web Worker with its
 * own KV handle and event loop for the life of a `BatchWorker`, and ticks a
 * shared clock from the main thread so that the thread stops renewing if the
 * process is stuck for good.
 *
 * ```ts ignore
 * await using heartbeat = Heartbeat.start({ kvPath });
 * heartbeat.hold(claimed.lease, { cancel, lost });
 * // … render the batch …
 * heartbeat.release();
 * ```
 *
 * @module
 */
import { deadline } from "../common/async.ts";
import { LeaseLostError } from "../common/errors.ts";
import type { Lease } from "./_lease.ts";
import type { HeartbeatCommand, HeartbeatEvent } from "./_heartbeat_thread.ts";

/** Options for {@linkcode Heartbeat.start}. */
export interface HeartbeatOptions {
  /** The job store's KV file. */
  kvPath: string;
  /** How often the lease is renewed, ms. @default 1000 */
  everyMs?: number;
  /**
   * The lease is no longer renewed once the main thread has been silent
   * this long, ms: a process stuck for good gives its batch up.
   * @default 120000
   */
  maxStallMs?: number;
}

/** What a held lease's holder is told. */
export interface LeaseEvents {
  /** The batch's cancellation was asked for. */
  cancel: () => void;
  /** Another worker took the batch over. */
  lost: (error: LeaseLostError) => void;
}

/** How long {@linkcode Heartbeat.close} waits for the thread, ms. */
const CLOSE_TIMEOUT_MS = 2000;

/** A worker's heartbeat thread. */
export class Heartbeat implements AsyncDisposable {
  #thread: Worker;
  #alive = new BigInt64Array(new SharedArrayBuffer(8));
  #tick: ReturnType<typeof setInterval>;
  #held: { lease: Lease; on: LeaseEvents } | undefined;
  #ready = Promise.withResolvers<void>();
  #isReady = false;
  #closed = Promise.withResolvers<void>();
  #closing: Promise<void> | undefined;

  private constructor(options: HeartbeatOptions) {
    this.#markAlive();
    const everyMs = options.everyMs ?? 1000;
    this.#tick = setInterval(() => this.#markAlive(), Math.min(everyMs, 1000));
    this.#thread = new Worker(
      new URL("./_heartbeat_thread.ts", import.meta.url),
      { type: "module" },
    );
    this.#thread.onmessage = (event: MessageEvent<HeartbeatEvent>) =>
      this.#told(event.data);
    this.#thread.onerror = (event) => {
      // The main thread's own beat goes on; the thread is only gone.
      event.preventDefault();
      this.#closed.resolve();
    };
    this.#send({
      type: "open",
      kvPath: options.kvPath,
      everyMs,
      maxStallMs: options.maxStallMs ?? 120_000,
      alive: this.#alive,
    });
  }

  /**
   * Resolves once the thread beats (it loads in the background: under
   * `deno test`, which type-checks it first, that takes seconds).
   */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Starts the thread; it renews nothing until {@linkcode hold}. */
  static start(options: HeartbeatOptions): Heartbeat {
    return new Heartbeat(options);
  }

  /** Renews `lease` from now on (instead of any other); `on` is told. */
  hold(lease: Lease, on: LeaseEvents): void {
    this.#held = { lease, on };
    this.#send({ type: "hold", lease });
  }

  /** Renews no lease any more. */
  release(): void {
    this.#held = undefined;
    this.#send({ type: "release" });
  }

  /**
   * Stops the thread (at once if it is still loading, else once it closed
   * its KV handle). Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#tick);
      this.#held = undefined;
      if (this.#isReady) {
        this.#send({ type: "close" });
        await deadline(this.#closed.promise, CLOSE_TIMEOUT_MS).catch(
          () => {},
        );
      }
      this.#thread.terminate();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #send(command: HeartbeatCommand): void {
    this.#thread.postMessage(command);
  }

  #markAlive(): void {
    Atomics.store(this.#alive, 0, BigInt(Date.now()));
  }

  #told(event: HeartbeatEvent): void {
    if (event.type === "ready") {
      this.#isReady = true;
      this.#ready.resolve();
      return;
    }
    if (event.type === "closed") {
      this.#closed.resolve();
      return;
    }
    const held = this.#held;
    // About a lease given up since: nothing to do.
    if (!held || held.lease.token !== event.lease.token) return;
    if (event.type === "cancel") held.on.cancel();
    else held.on.lost(new LeaseLostError(event.message));
  }
}
