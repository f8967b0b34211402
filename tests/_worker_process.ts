/**
 * `worker.ts` as its own process, for queue mode's tests: its log kept to
 * read, waited on, and the process killed as a machine dies (SIGKILL) or
 * stopped as an operator stops it (SIGTERM).
 *
 * @module
 */

/** A running `deno run worker.ts`. */
export interface WorkerProcess extends AsyncDisposable {
  pid: number;
  /** Its log so far (JSON lines on stderr). */
  log(): string;
  /** Resolves once its log matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL, and its exit. */
  kill9(): Promise<void>;
  /** Its exit code once it has exited. */
  status: Promise<Deno.CommandStatus>;
}

/** Starts `worker.ts` with `args`, `TMPDIR` set to `tmp`. */
export function workerProcess(
  options: { args: string[]; tmp: string; env?: Record<string, string> },
): WorkerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "worker.ts", ...options.args],
    env: { TMPDIR: options.tmp, NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const waiters = new Set<() => void>();
  const read = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      for (const wake of waiters) wake();
    }
  };
  const drained = Promise.all([read(child.stderr), read(child.stdout)]);
  const status = child.status;
  return {
    pid: child.pid,
    log: () => text,
    status,
    waitFor(pattern, timeoutMs = 60_000) {
      if (pattern.test(text)) return Promise.resolve();
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(
          new Error(`The worker's log never matched ${pattern}:\n${text}`),
        );
      }, timeoutMs);
      const wake = () => {
        if (!pattern.test(text)) return;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      waiters.add(wake);
      status.then(() => wake());
      return promise;
    },
    async kill9() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await status;
      await drained;
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await status;
      await drained;
    },
  };
}
