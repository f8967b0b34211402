/**
 * The contract between `bench/offscreen.ts` and the bench's page additions
 * (`offscreen.js`) and workers (`worker_encode.js`, `worker_fabric.js`),
 * written once: the JavaScript imports these types with JSDoc `@import`, and
 * Deno calls `globalThis.offscreenBench` through them inside
 * `page.evaluate()`. The render page's own contract is `render/page_api.ts`.
 *
 * @module
 */
import type {
  PageSpec,
  PiecePayload,
  RenderRequest,
} from "../../render/page_api.ts";

export type { PageSpec, PiecePayload };

/** One piece for the page: the record's payload and where to POST its PNG. */
export interface PieceRequest {
  payload: PiecePayload;
  /** The upload URL on the bench's origin. */
  postTo: string;
}

/** Where pages or workers pull records from, and how many per request. */
export interface PullRequest {
  /** `GET {url}?n={batch}` answers with `PieceRequest[]`; `[]` means done. */
  url: string;
  batch: number;
}

/** The Fabric workers of variant (a): how many, and the template. */
export interface FabricWorkersRequest {
  count: number;
  spec: PageSpec;
}

/** What `offscreen.js` exposes as `globalThis.offscreenBench`. */
export interface OffscreenApi {
  /** (b) Starts `count` encoder workers. */
  startEncoders(count: number): void;
  /**
   * (b) Applies and paints the piece on the page's canvas, snapshots it as an
   * ImageBitmap and hands it to a free encoder worker, which encodes and
   * POSTs it. Resolves once handed off.
   */
  handoff(request: PieceRequest): Promise<void>;
  /** (c) Pulls records until none are left, rendering each with render.js. */
  pull(request: PullRequest): Promise<number>;
  /** (a) Starts Fabric workers and loads the template in each. */
  startFabricWorkers(request: FabricWorkersRequest): Promise<void>;
  /** (a) Renders one piece on a free Fabric worker, which POSTs it. */
  workerRender(request: PieceRequest): Promise<void>;
  /** (a)+(c) Every Fabric worker pulls records until none are left. */
  workerPull(request: PullRequest): Promise<number>;
  /** Errors reported by the workers so far. */
  errors(): string[];
}

/** (b) The page to an encoder worker: one painted piece. */
export interface EncodeJob {
  bitmap: ImageBitmap;
  postTo: string;
}

/** (b) An encoder worker to the page: free for the next piece. */
export interface EncoderReply {
  /** What went wrong with the piece; the worker also POSTed it as an error. */
  error?: string;
}

/** (a) The page to a Fabric worker. */
export type FabricWorkerCall =
  & { id: number }
  & (
    | { op: "load"; spec: PageSpec }
    | { op: "render"; request: RenderRequest }
    | { op: "pull"; pull: PullRequest }
  );

/** (a) A Fabric worker's answer to the call with the same `id`. */
export interface FabricWorkerReply {
  id: number;
  /** Pieces rendered, for a pull. */
  pieces?: number;
  error?: string;
}

/**
 * The parts of a dedicated worker's global scope the workers use. The
 * project's lib is the window's (`deno.window` + `dom`), and the `webworker`
 * lib cannot join `dom` in one program, so the workers type `self` with this.
 */
export interface WorkerScope {
  importScripts(...urls: string[]): void;
  postMessage(message: EncoderReply | FabricWorkerReply): void;
  onmessage: ((event: MessageEvent) => void) | null;
  fonts: FontFaceSet;
}

/** The header a worker sets on a POST that carries an error, not a piece. */
export const ERROR_HEADER = "x-offscreen-error";

declare global {
  /** The bench's page additions; only defined inside the bench's page. */
  var offscreenBench: OffscreenApi;
}
