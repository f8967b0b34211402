// @ts-check
// The bench's additions to the render page: encoder workers (b), the record
// pull (c) and Fabric workers (a). A classic script loaded after the
// repository's unchanged page scripts, whose top-level `apply` and `state` it
// shares through the classic scripts' global scope. See README.md.
"use strict";

/**
 * @import {
 *   EncodeJob,
 *   EncoderReply,
 *   FabricWorkerCall,
 *   FabricWorkerReply,
 *   FabricWorkersRequest,
 *   OffscreenApi,
 *   PieceRequest,
 *   PullRequest,
 * } from "./api.ts"
 * @import {} from "../../render/page/scope.d.ts"
 */

// The render page's top-level names, typed by render/page/scope.d.ts.
const renderJs = { apply, state };

/** @type {string[]} */
const errors = [];

/**
 * Workers that take one job at a time: `acquire()` waits for a free one.
 * @template T
 */
class Pool {
  /** @type {T[]} */ #idle;
  /** @type {((item: T) => void)[]} */ #waiting = [];

  /** @param {T[]} items */
  constructor(items) {
    this.items = items;
    this.#idle = [...items];
  }

  /** @returns {Promise<T>} */
  acquire() {
    const item = this.#idle.pop();
    if (item) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** @param {T} item */
  release(item) {
    const next = this.#waiting.shift();
    if (next) next(item);
    else this.#idle.push(item);
  }
}

// ---- (b) encoder workers ---------------------------------------------------

/** @type {Pool<Worker> | null} */
let encoders = null;

/** @param {number} count */
function startEncoders(count) {
  const workers = Array.from(
    { length: count },
    () => new Worker("/worker_encode.js"),
  );
  const pool = new Pool(workers);
  for (const worker of workers) {
    worker.onerror = (event) => errors.push(`Encoder: ${event.message}`);
    worker.onmessage = (/** @type {MessageEvent<EncoderReply>} */ event) => {
      if (event.data.error) errors.push(event.data.error);
      pool.release(worker);
    };
  }
  encoders = pool;
}

/**
 * Paints here, encodes in a worker: the next record paints while this one
 * encodes. A free worker is awaited after painting.
 * @param {PieceRequest} request
 */
async function handoff({ payload, postTo }) {
  if (!encoders) throw new Error("No encoder workers started");
  const { canvas, element } = renderJs.state;
  if (!canvas || !element) throw new Error("No template loaded");
  await renderJs.apply(payload);
  canvas.renderAll();
  // A copy of the opaque DOM canvas: the only route whose PNG stays RGB.
  const bitmap = await createImageBitmap(element);
  const worker = await encoders.acquire();
  /** @type {EncodeJob} */
  const job = { bitmap, postTo };
  worker.postMessage(job, [bitmap]);
}

// ---- (c) record pull -------------------------------------------------------

/**
 * The next records from Deno; none left when empty.
 * @param {PullRequest} request
 * @returns {Promise<PieceRequest[]>}
 */
async function pullBatch({ url, batch }) {
  const response = await fetch(`${url}?n=${batch}`);
  if (!response.ok) throw new Error(`Pull answered ${response.status}`);
  return await response.json();
}

/**
 * Renders pulled records with render.js until none are left.
 * @param {PullRequest} request
 */
async function pull(request) {
  let pieces = 0;
  for (let jobs = await pullBatch(request); jobs.length > 0;) {
    for (const { payload, postTo } of jobs) {
      await globalThis.pressrun.render({
        payload,
        postTo,
        format: "png",
        quality: 0.92,
      });
      pieces++;
    }
    jobs = await pullBatch(request);
  }
  return pieces;
}

// ---- (a) Fabric workers ----------------------------------------------------

/**
 * A Fabric worker and its calls awaiting an answer.
 * @typedef {{ worker: Worker, pending: Map<number, PromiseWithResolvers<FabricWorkerReply>> }} FabricWorker
 */

/** @type {Pool<FabricWorker> | null} */
let fabricWorkers = null;
let calls = 0;

/** @returns {FabricWorker} */
function fabricWorker() {
  const worker = new Worker("/worker_fabric.js");
  /** @type {FabricWorker} */
  const handle = { worker, pending: new Map() };
  worker.onerror = (event) => {
    errors.push(`Fabric worker: ${event.message}`);
    for (const call of handle.pending.values()) {
      call.reject(new Error(`Fabric worker: ${event.message}`));
    }
    handle.pending.clear();
  };
  worker.onmessage = (
    /** @type {MessageEvent<FabricWorkerReply>} */ { data },
  ) => {
    const call = handle.pending.get(data.id);
    handle.pending.delete(data.id);
    if (data.error) call?.reject(new Error(data.error));
    else call?.resolve(data);
  };
  return handle;
}

/**
 * Sends a call to a Fabric worker and waits for its answer.
 * @param {FabricWorker} handle
 * @param {FabricWorkerCall} message
 */
function call({ worker, pending }, message) {
  /** @type {PromiseWithResolvers<FabricWorkerReply>} */
  const answer = Promise.withResolvers();
  pending.set(message.id, answer);
  worker.postMessage(message);
  return answer.promise;
}

/** @param {FabricWorkersRequest} request */
async function startFabricWorkers({ count, spec }) {
  const handles = Array.from({ length: count }, fabricWorker);
  fabricWorkers = new Pool(handles);
  await Promise.all(
    handles.map((h) => call(h, { id: ++calls, op: "load", spec })),
  );
}

/** @param {PieceRequest} request */
async function workerRender({ payload, postTo }) {
  if (!fabricWorkers) throw new Error("No Fabric workers started");
  const handle = await fabricWorkers.acquire();
  try {
    await call(handle, {
      id: ++calls,
      op: "render",
      request: { payload, postTo, format: "png", quality: 0.92 },
    });
  } finally {
    fabricWorkers.release(handle);
  }
}

/** @param {PullRequest} request */
async function workerPull(request) {
  if (!fabricWorkers) throw new Error("No Fabric workers started");
  const replies = await Promise.all(
    fabricWorkers.items.map((h) =>
      call(h, { id: ++calls, op: "pull", pull: request })
    ),
  );
  return replies.reduce((sum, reply) => sum + (reply.pieces ?? 0), 0);
}

/** @type {OffscreenApi} */
const offscreenApi = {
  startEncoders,
  handoff,
  pull,
  startFabricWorkers,
  workerRender,
  workerPull,
  errors: () => [...errors],
};
globalThis.offscreenBench = offscreenApi;
