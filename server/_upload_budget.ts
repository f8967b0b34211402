/**
 * The upload budget: bytes of request bodies the server holds at once, over
 * every request in flight. A request takes its declared Content-Length
 * before its body is read (or, without one, its bytes as they arrive) and
 * gives them back when it has been answered; past the budget it gets 429
 * with Retry-After instead of memory or disk the server does not have.
 *
 * ```ts ignore
 * const budget = new UploadBudget(256 * 2 ** 20);
 * using lease = budget.lease();
 * const metered = meteredRequest(req, lease, 50 * 2 ** 20);
 * ```
 *
 * @module
 */
import { busy, tooLarge } from "./_http.ts";

/** Bytes of bodies held at once, over all requests. */
export class UploadBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Holds `n` more bytes; 429 when that would pass the limit. */
  take(n: number): void {
    if (this.#used + n > this.limit) {
      throw busy(
        `${mib(this.#used)} MiB of uploads are in progress (the limit is ${
          mib(this.limit)
        } MiB)`,
      );
    }
    this.#used += n;
  }

  /** Gives back `n` bytes taken before. */
  give(n: number): void {
    this.#used -= n;
  }

  /** A request's share of the budget, given back when disposed. */
  lease(): BudgetLease {
    return new BudgetLease(this);
  }
}

/** The bytes one request holds of an {@linkcode UploadBudget}. */
export class BudgetLease implements Disposable {
  #budget: UploadBudget;
  #held = 0;

  constructor(budget: UploadBudget) {
    this.#budget = budget;
  }

  /** Bytes this request holds. */
  get held(): number {
    return this.#held;
  }

  /**
   * Holds `total` bytes if it holds fewer; 429 when the budget cannot now,
   * 413 when it never could (`total` is over the whole budget).
   */
  holdUpTo(total: number): void {
    if (total <= this.#held) return;
    if (total > this.#budget.limit) throw tooLarge(this.#budget.limit);
    this.#budget.take(total - this.#held);
    this.#held = total;
  }

  /** Gives every byte back; safe to call twice. */
  [Symbol.dispose](): void {
    this.#budget.give(this.#held);
    this.#held = 0;
  }
}

/**
 * `req` with its body counted against `lease`: its declared length is held
 * now (413 past `max`, 429 past the budget), and every byte read beyond what
 * is held is taken as it arrives, with the same errors raised by the body
 * stream to whoever reads it.
 */
export function meteredRequest(
  req: Request,
  lease: BudgetLease,
  max: number,
): Request {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) throw tooLarge(max);
  if (declared > 0) lease.holdUpTo(declared);
  if (!req.body) return req;
  let seen = 0;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > max) throw tooLarge(max);
        lease.holdUpTo(seen);
        controller.enqueue(chunk);
      },
    }),
  );
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: counted,
    duplex: "half",
  } as RequestInit);
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
