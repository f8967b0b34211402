/**
 * Queue mode: many machines on one batch. The job store's key-value store
 * on Redis, batches as BullMQ flows of chunk jobs under a finish job, the
 * worker that runs them, and a process's queue flags and parts.
 *
 * @module
 */
export * from "./batch_queue.ts";
export * from "./connection.ts";
export * from "./mode.ts";
export * from "./pieces.ts";
export * from "./queue_worker.ts";
export * from "./redis_client.ts";
export * from "./redis_kv.ts";
