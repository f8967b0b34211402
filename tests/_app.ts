/**
 * The server's handler over a fresh store, in the test's process, as served
 * at http://127.0.0.1:8000; the worker is never started unless a test starts
 * it. Disposing closes the worker and the store and removes the folder.
 *
 * @module
 */
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { createHandler, type ServerDeps } from "../server/api.ts";
import { tempDir } from "./_helpers.ts";

export async function handlerApp(options: Partial<ServerDeps> = {}) {
  const dir = await tempDir();
  const store = await JobStore.open(dir.path);
  const worker = new BatchWorker(store);
  const handle = createHandler({
    store,
    worker,
    metrics: new Metrics(),
    ...options,
  });
  return {
    store,
    worker,
    handle,
    /** A request for `path` on the server's own origin. */
    call: (path: string, init?: RequestInit) =>
      handle(new Request(`http://127.0.0.1:8000${path}`, init)),
    async [Symbol.asyncDispose]() {
      await worker.close();
      await store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** A batch form for the built-in postcard with `csv` as the data file `name`. */
export function batchForm(
  csv: Uint8Array<ArrayBuffer>,
  name = "recipients.csv",
): FormData {
  const form = new FormData();
  form.append("template", "postcard");
  form.append("data", new File([csv], name));
  return form;
}
