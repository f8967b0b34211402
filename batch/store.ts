/**
 * The embedded job store: Deno KV on a local file for templates, batches and
 * per-record results, and plain files beside it for the CSVs, templates and
 * outputs. No server to install.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { RendererChoice } from "../render/orchestrator.ts";
import type { PdfMode, RendererMode } from "../render/renderer.ts";
import type { BatchOptions } from "./run.ts";
import type { OversetPolicy } from "../template/overset.ts";
import { NotFoundError } from "../common/errors.ts";
import { isTerminal } from "../common/rules.js";
import type { ManifestEntry } from "./manifest.ts";
import { type DamagedPiece, damagedPieces } from "./piece_check.ts";
import { retryBusy } from "./_kv.ts";
import type { KvEntry, KvStore } from "./kv_store.ts";
import {
  assertLease,
  type Lease,
  leaseCheck,
  leaseKey,
  type LeaseRecord,
  statusKey,
  updateStatus,
} from "./_lease.ts";
import { diskFull, writingTo } from "./_disk.ts";
import {
  DataFolder,
  type DataSpace,
  safeId,
  type StoreOptions,
} from "./_data_folder.ts";
import { type TemplateInfo, TemplateLibrary } from "./_templates.ts";
import {
  type BatchEnd,
  type BatchProgress,
  beating,
  cancelling,
  finishing,
  progressing,
  requeueing,
  retrying,
  type StatusChange,
} from "./store_states.ts";
import type { BATCH_STATES } from "../common/rules.js";

export type { Lease } from "./_lease.ts";
export type { DataSpace, StoreOptions } from "./_data_folder.ts";
export type { TemplateInfo } from "./_templates.ts";

/** Where a batch is in its life: one of common/rules.js's `BATCH_STATES`. */
export type BatchState = typeof BATCH_STATES[number];

/** How a batch was asked to run. */
/** A stored batch's renderer and output choices. */
interface BatchRunChoices {
  renderer: RendererChoice;
  /**
   * What the PDF pages hold. Batches stored before vector mode have none:
   * they run as runBatch's default (vector).
   */
  pdfMode?: PdfMode;
  /** Vector: records per print; absent for the renderer's default. */
  chunkSize?: number;
  merge: boolean;
  onError: "fail" | "skip";
  /**
   * A record with an overset text: warn, fail or skip. Batches stored
   * before copyfit bounds have none: they run as runBatch's default (warn).
   */
  onOverset?: OversetPolicy;
}

/**
 * The rest of a stored batch's options, as runBatch takes them (the API
 * gives no duplex backs).
 */
export type BatchRunOptions =
  & BatchRunChoices
  & Pick<
    BatchOptions,
    "encoding" | "sheet" | "page" | "recordKeys" | "proof" | "press" | "pdfx"
  >;

/** A batch as the API shows it. */
export interface BatchStatus {
  id: string;
  state: BatchState;
  done: number;
  total: number;
  failed: number;
  /** Records not written because a text is overset (`onOverset: "skip"`). */
  skipped?: number;
  /** Records with an overset text, however handled. */
  overset?: number;
  mode?: RendererMode;
  /** Pieces per second. */
  rate: number;
  /** Estimated ms to go. */
  eta: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  template: { id?: string; name: string };
  options: BatchRunOptions;
  error?: string;
  /** Whether merged.pdf exists. */
  merged?: boolean;
  cancelRequested?: boolean;
  /** The worker running it, and when it last said so (ms since epoch). */
  worker?: string;
  heartbeatAt?: number;
  /**
   * Queue mode: the BullMQ flow of the batch's current run (its finish
   * job's id), once its chunks are queued.
   */
  flow?: string;
  /**
   * Queue mode: the batch's current run, 1 and one more per retry (absent:
   * 1); see {@linkcode runOf}.
   */
  run?: number;
}

/**
 * Queue mode: the run of a batch its jobs belong to. A retry begins the
 * next, so that a job of an earlier run that is still going (a chunk being
 * cancelled, say) can change nothing of the new one.
 */
export function runOf(status: Pick<BatchStatus, "run">): number {
  return status.run ?? 1;
}

/** Queue mode: how far one part (chunk) of a batch's run has come. */
export interface PartProgress {
  /** The run it belongs to ({@linkcode runOf}). */
  run: number;
  /** Its first record: names the part. */
  from: number;
  /** Its records finished (rendered, failed or kept), and failed. */
  done: number;
  failed: number;
  /** Its records skipped, and those with an overset text. */
  skipped?: number;
  overset?: number;
  mode: RendererMode;
}

/** A batch a worker claimed, with its lease for the writes it makes. */
export type ClaimedBatch = BatchStatus & { lease: Lease };

/** Templates, batches and results under one data folder. */
export class JobStore implements AsyncDisposable {
  #kv: KvStore;
  #dir: string;
  #folder: DataFolder;
  #templates: TemplateLibrary;
  #closed = false;

  private constructor(
    kv: KvStore,
    folder: DataFolder,
    templates: TemplateLibrary,
  ) {
    this.#kv = kv;
    this.#dir = folder.dir;
    this.#folder = folder;
    this.#templates = templates;
  }

  /**
   * Opens (creating if needed) the store in `dir`, and makes its reserve
   * file if the disk has room.
   * @throws {DiskFullError} If the disk is too full to open the KV file.
   */
  static async open(
    dir: string,
    options: StoreOptions = {},
  ): Promise<JobStore> {
    const folder = new DataFolder(resolve(dir), options);
    const kv = await folder.open(options.kv);
    return new JobStore(kv, folder, await TemplateLibrary.load(kv, folder));
  }

  /** The data folder. */
  get dir(): string {
    return this.#dir;
  }

  /** The KV file, for a thread that opens its own handle (the heartbeat). */
  get kvPath(): string {
    return this.#folder.kvPath;
  }

  /** Bytes free in the data folder, whether it takes a write, the reserve. */
  space(): Promise<DataSpace> {
    return this.#folder.space();
  }

  /**
   * Whether the data folder has more than the bytes it keeps free (making
   * the reserve file again first, if it was used and there is room now).
   */
  hasRoom(): Promise<boolean> {
    return this.#folder.hasRoom();
  }

  // --- templates ---------------------------------------------------------

  /** Every template, built-in examples first. */
  listTemplates(): Promise<TemplateInfo[]> {
    return this.#templates.list();
  }

  /** A template's library entry and the file it lives in. */
  template(id: string): Promise<{ info: TemplateInfo; path: string }> {
    return this.#templates.get(id);
  }

  /**
   * Validates and stores a template document; returns its entry.
   * @throws {DiskFullError} If the disk has no room for it (nothing stored).
   */
  addTemplate(doc: unknown): Promise<TemplateInfo> {
    return this.#templates.add(doc);
  }

  /** Removes a stored template; built-in ones cannot be removed. */
  deleteTemplate(id: string): Promise<void> {
    return this.#templates.delete(id);
  }

  // --- batches -----------------------------------------------------------

  /** The folder of a batch: data.csv, template.json, out/, thumbs/. */
  batchDir(id: string): string {
    return join(this.#dir, "batches", safeId(id));
  }

  /**
   * Creates a queued batch from a template file and CSV bytes already
   * checked by the caller. A library template is used in place; an uploaded
   * one is stored in the batch's folder. The folder is written under a
   * temporary name and renamed when complete.
   * @throws {DiskFullError} If the data folder has not the room to keep free
   * beside the inputs (checked before anything is written), or fills while
   * they are written (then nothing is left of the batch).
   */
  async createBatch(input: {
    templatePath: string;
    /** An uploaded template: stored in the batch's folder instead. */
    templateDoc?: unknown;
    template: { id?: string; name: string };
    csv: Uint8Array;
    total: number;
    options: BatchRunOptions;
  }): Promise<BatchStatus> {
    const id = crypto.randomUUID();
    const dir = this.batchDir(id);
    const doc = input.templateDoc === undefined
      ? undefined
      : JSON.stringify(input.templateDoc);
    await this.#folder.needRoom(
      input.csv.length + (doc?.length ?? 0),
      "a new batch",
    );
    const staging = this.#folder.stagingDir(id);
    const templatePath = doc === undefined
      ? resolve(input.templatePath)
      : join(dir, "template.json");
    try {
      await Deno.mkdir(join(staging, "out"), { recursive: true });
      await Deno.mkdir(join(staging, "thumbs"), { recursive: true });
      await Deno.writeFile(join(staging, "data.csv"), input.csv);
      if (doc !== undefined) {
        await Deno.writeTextFile(join(staging, "template.json"), doc);
      }
      await Deno.writeTextFile(join(staging, "template.path"), templatePath);
      await Deno.rename(staging, dir);
    } catch (error) {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
      throw await diskFull(error, "a new batch", this.#dir);
    }
    const status: BatchStatus = {
      id,
      state: "queued",
      done: 0,
      total: input.total,
      failed: 0,
      rate: 0,
      eta: 0,
      createdAt: new Date().toISOString(),
      template: input.template,
      options: input.options,
    };
    try {
      await retryBusy(() => this.#kv.set(statusKey(id), status));
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw await diskFull(error, "a new batch", this.#dir);
    }
    return status;
  }

  /** The template file a batch renders with. */
  async batchTemplatePath(id: string): Promise<string> {
    return (await Deno.readTextFile(join(this.batchDir(id), "template.path")))
      .trim();
  }

  /** A batch's status. */
  async batch(id: string): Promise<BatchStatus> {
    const entry = await this.#kv.get<BatchStatus>(["batches", id]);
    if (!entry.value) throw new NotFoundError(`No batch "${id}"`);
    return entry.value;
  }

  /** Every batch, newest first. */
  async listBatches(): Promise<BatchStatus[]> {
    const all: BatchStatus[] = [];
    for await (const e of this.#kv.list<BatchStatus>({ prefix: ["batches"] })) {
      all.push(e.value);
    }
    return all.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Counts of batches by state. */
  async countByState(): Promise<Record<BatchState, number>> {
    const counts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
    for (const b of await this.listBatches()) counts[b.state]++;
    return counts;
  }

  /**
   * Asks a batch to stop: a queued one is cancelled at once, a running one
   * when its worker sees the request.
   * @throws {ConflictError} If it is already done, failed or cancelled.
   */
  cancel(id: string): Promise<BatchStatus> {
    return this.updateBatch(id, cancelling(new Date()));
  }

  /**
   * Queues a finished batch again to render what it has not (its failed or
   * never-rendered records); the pieces done are kept.
   * @throws {ConflictError} If it is still queued or running, or done with no
   * failed record.
   */
  retry(id: string): Promise<BatchStatus> {
    return this.updateBatch(id, retrying);
  }

  /**
   * Ends a run: done, failed or cancelled. With the worker's `lease`, only
   * while it holds, and the lease ends. On a full disk the reserve is freed
   * to make room for this write.
   */
  finish(id: string, end: BatchEnd, lease?: Lease): Promise<BatchStatus> {
    return this.#folder.lastWrite(
      `the end of batch ${id}`,
      () =>
        updateStatus(this.#kv, id, finishing(end, new Date()), {
          lease,
          release: true,
        }),
    );
  }

  /**
   * Queue mode: ends run `run` of a batch (done, failed or cancelled),
   * unless it has ended already or another run has begun; the status after.
   * On a full disk the reserve is freed to make room for this write.
   */
  endRun(id: string, run: number, end: BatchEnd): Promise<BatchStatus> {
    const finish = finishing(end, new Date());
    return this.#folder.lastWrite(
      `the end of batch ${id}`,
      () =>
        updateStatus<BatchStatus>(
          this.#kv,
          id,
          (s) => isTerminal(s.state) || runOf(s) !== run ? {} : finish(s),
        ),
    );
  }

  /**
   * Puts a running batch back in the queue (its worker is shutting down).
   * With the worker's `lease`, only while it holds, and the lease ends.
   */
  requeue(id: string, lease?: Lease): Promise<BatchStatus> {
    return this.#folder.lastWrite(
      `batch ${id}`,
      () =>
        updateStatus<BatchStatus>(this.#kv, id, requeueing, {
          lease,
          release: true,
        }),
    );
  }

  /**
   * The running batch's worker is alive; returns the status it finds. With
   * the worker's `lease`, only while it holds.
   */
  heartbeat(id: string, lease?: Lease): Promise<BatchStatus> {
    return this.updateBatch(id, beating(Date.now()), lease);
  }

  /**
   * Records a running batch's progress (and a heartbeat). With the worker's
   * `lease`, only while it holds.
   */
  progress(
    id: string,
    progress: BatchProgress,
    lease?: Lease,
  ): Promise<BatchStatus> {
    return this.updateBatch(id, progressing(progress, Date.now()), lease);
  }

  /**
   * Queue mode: records how far one part of a running batch has come, and
   * sets the batch's counts to the sum over the parts of its run (so a
   * part that runs twice is counted once). Returns the status, whose
   * `cancelRequested` the part heeds.
   */
  async partProgress(id: string, part: PartProgress): Promise<BatchStatus> {
    await writingTo(
      this.#dir,
      `batch ${id}`,
      () => this.#kv.set(["parts", id, part.from], part),
    );
    let done = 0;
    let failed = 0;
    let skipped = 0;
    let overset = 0;
    for await (
      const e of this.#kv.list<PartProgress>({ prefix: ["parts", id] })
    ) {
      if (e.value.run !== part.run) continue;
      done += e.value.done;
      failed += e.value.failed;
      skipped += e.value.skipped ?? 0;
      overset += e.value.overset ?? 0;
    }
    const now = Date.now();
    return await this.updateBatch(id, (s) => {
      if (isTerminal(s.state) || runOf(s) !== part.run) return {};
      const seconds = (now - Date.parse(s.startedAt ?? s.createdAt)) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      return {
        done,
        failed,
        skipped,
        overset,
        mode: part.mode,
        rate: Math.round(rate * 10) / 10,
        eta: rate > 0 ? Math.round((s.total - done) / rate * 1000) : 0,
        heartbeatAt: now,
      };
    });
  }

  /**
   * Changes fields of a batch's status (read, merge, write, atomically). The
   * state changes have their own methods above.
   * @throws {LeaseLostError} If `lease` is given and no longer holds.
   */
  updateBatch(
    id: string,
    change: Partial<BatchStatus> | StatusChange,
    lease?: Lease,
  ): Promise<BatchStatus> {
    return writingTo(
      this.#dir,
      `batch ${id}`,
      () => updateStatus<BatchStatus>(this.#kv, id, change, { lease }),
    );
  }

  /**
   * Takes the oldest queued batch, or a running one whose worker stopped
   * beating for `staleAfterMs`, for `worker`. Atomic across processes: the
   * status and a new lease are written in one commit, and the lease of a
   * worker that ran the batch before is gone with it.
   */
  async claimNext(
    worker: string,
    staleAfterMs: number,
  ): Promise<ClaimedBatch | undefined> {
    const now = Date.now();
    const candidates: KvEntry<BatchStatus>[] = [];
    for await (const e of this.#kv.list<BatchStatus>({ prefix: ["batches"] })) {
      const s = e.value;
      const stale = s.state === "running" &&
        now - (s.heartbeatAt ?? 0) > staleAfterMs;
      if (s.state === "queued" || stale) candidates.push(e);
    }
    candidates.sort((a, b) =>
      a.value.createdAt.localeCompare(b.value.createdAt)
    );
    for (const e of candidates) {
      const next: BatchStatus = {
        ...e.value,
        state: "running",
        worker,
        heartbeatAt: now,
        startedAt: e.value.startedAt ?? new Date(now).toISOString(),
        // What the last run merged is not this run's to claim.
        merged: undefined,
      };
      const record: LeaseRecord = { worker, claimedAt: now };
      const ok = await writingTo(
        this.#dir,
        "the queue",
        () =>
          retryBusy(() =>
            this.#kv.atomic().check(e).set(e.key, next)
              .set(leaseKey(next.id), record).commit()
          ),
      );
      if (ok.ok) {
        return {
          ...next,
          lease: { batch: next.id, worker, token: ok.versionstamp },
        };
      }
    }
    return undefined;
  }

  /** @throws {LeaseLostError} Unless `lease` still holds its batch. */
  checkLease(lease: Lease): Promise<void> {
    return assertLease(this.#kv, lease);
  }

  /**
   * Records the outcome of one record of a batch. With the worker's
   * `lease`, only while it holds.
   * @throws {LeaseLostError} If `lease` is given and no longer holds.
   */
  async putPiece(
    id: string,
    entry: ManifestEntry,
    lease?: Lease,
  ): Promise<void> {
    const ok = await writingTo(
      this.#dir,
      `record ${entry.index} of batch ${id}`,
      () =>
        retryBusy(() => {
          const op = this.#kv.atomic().set(["pieces", id, entry.index], entry);
          if (lease) op.check(leaseCheck(lease));
          return op.commit();
        }),
    );
    if (!ok.ok && lease) await assertLease(this.#kv, lease);
  }

  /**
   * Every record outcome stored for a batch, by index; or those of records
   * `from` to `to` (1-based, both included).
   */
  async pieces(
    id: string,
    range?: { from: number; to: number },
  ): Promise<Map<number, ManifestEntry>> {
    const out = new Map<number, ManifestEntry>();
    const selector = range
      ? { start: ["pieces", id, range.from], end: ["pieces", id, range.to + 1] }
      : { prefix: ["pieces", id] };
    for await (const e of this.#kv.list<ManifestEntry>(selector)) {
      out.set(e.value.index, e.value);
    }
    return out;
  }

  /**
   * Checks the files of a batch's rendered pieces against their entries
   * (size, SHA-256) and returns the damaged ones. On a batch that has
   * finished, each damaged piece is also marked failed (its error names the
   * file and what is wrong), so that `retry()` renders it again.
   */
  async verifyPieces(id: string): Promise<DamagedPiece[]> {
    await this.batch(id);
    const entries = [...(await this.pieces(id)).values()]
      .sort((a, b) => a.index - b.index);
    const damaged = await damagedPieces(
      join(this.batchDir(id), "out"),
      entries,
    );
    if (damaged.length === 0 || !isTerminal((await this.batch(id)).state)) {
      return damaged;
    }
    for (const { entry, problem } of damaged) {
      const failed: ManifestEntry = {
        ...entry,
        status: "failed",
        error: problem,
      };
      await writingTo(
        this.#dir,
        `batch ${id}`,
        () =>
          retryBusy(() => this.#kv.set(["pieces", id, entry.index], failed)),
      );
    }
    await this.updateBatch(id, (s) =>
      isTerminal(s.state)
        ? {
          failed: s.failed + damaged.length,
          error: `${damaged.length} rendered ${
            damaged.length === 1 ? "piece was" : "pieces were"
          } damaged on disk (${damaged[0]!.problem}): retry to render ${
            damaged.length === 1 ? "it" : "them"
          } again`,
        }
        : {});
    return damaged;
  }

  /** Closes the KV file. Safe to call twice. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#kv.close();
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
