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
import {
  loadTemplate,
  parseTemplate,
  type Template,
} from "../template/parse.ts";
import {
  ForbiddenError,
  NotFoundError,
  PressrunError,
} from "../common/errors.ts";
import type { ManifestEntry } from "./manifest.ts";
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

/** Where a batch is in its life: one of common/rules.js's `BATCH_STATES`. */
export type BatchState = typeof BATCH_STATES[number];

/** How a batch was asked to run. */
export interface BatchRunOptions {
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
}

/** A batch as the API shows it. */
export interface BatchStatus {
  id: string;
  state: BatchState;
  done: number;
  total: number;
  failed: number;
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
}

/** A template in the library. */
export interface TemplateInfo {
  id: string;
  name: string;
  fields: string[];
  size: { width: number; height: number; unit: string };
  builtIn: boolean;
}

const EXAMPLES = new URL("../examples/", import.meta.url);

/** Templates, batches and results under one data folder. */
export class JobStore implements AsyncDisposable {
  #kv: Deno.Kv;
  #dir: string;
  #builtIn = new Map<string, { info: TemplateInfo; path: string }>();
  #closed = false;

  private constructor(kv: Deno.Kv, dir: string) {
    this.#kv = kv;
    this.#dir = dir;
  }

  /** Opens (creating if needed) the store in `dir`. */
  static async open(dir: string): Promise<JobStore> {
    const full = resolve(dir);
    await Deno.mkdir(join(full, "templates"), { recursive: true });
    await Deno.mkdir(join(full, "batches"), { recursive: true });
    const store = new JobStore(
      await Deno.openKv(join(full, "pressrun.kv")),
      full,
    );
    await store.#loadExamples();
    return store;
  }

  /** The data folder. */
  get dir(): string {
    return this.#dir;
  }

  async #loadExamples(): Promise<void> {
    for await (const entry of Deno.readDir(EXAMPLES)) {
      if (!entry.isDirectory) continue;
      const path = join(EXAMPLES.pathname, entry.name, "template.json");
      try {
        const template = await loadTemplate(path);
        this.#builtIn.set(entry.name, {
          info: describe(entry.name, template, true),
          path,
        });
      } catch {
        // A folder without a template is not an example.
      }
    }
  }

  // --- templates ---------------------------------------------------------

  /** Every template, built-in examples first. */
  async listTemplates(): Promise<TemplateInfo[]> {
    const own: TemplateInfo[] = [];
    for await (
      const e of this.#kv.list<TemplateInfo>({ prefix: ["templates"] })
    ) {
      own.push(e.value);
    }
    return [...[...this.#builtIn.values()].map((b) => b.info), ...own];
  }

  /** A template's library entry and the file it lives in. */
  async template(id: string): Promise<{ info: TemplateInfo; path: string }> {
    const builtIn = this.#builtIn.get(id);
    if (builtIn) return builtIn;
    const entry = await this.#kv.get<TemplateInfo>(["templates", id]);
    if (!entry.value) throw new NotFoundError(`No template "${id}"`);
    return { info: entry.value, path: this.#templatePath(id) };
  }

  /** Validates and stores a template document; returns its entry. */
  async addTemplate(doc: unknown): Promise<TemplateInfo> {
    const id = crypto.randomUUID();
    const path = this.#templatePath(id);
    const template = parseTemplate(doc, {
      source: "the uploaded template",
      baseDir: join(this.#dir, "templates"),
    });
    const info = describe(id, template, false);
    await Deno.writeTextFile(path, JSON.stringify(doc));
    await this.#kv.set(["templates", id], info);
    return info;
  }

  /** Removes a stored template; built-in ones cannot be removed. */
  async deleteTemplate(id: string): Promise<void> {
    if (this.#builtIn.has(id)) {
      throw new ForbiddenError(
        `Template "${id}" is built in and cannot be deleted`,
      );
    }
    await this.template(id);
    await this.#kv.delete(["templates", id]);
    await Deno.remove(this.#templatePath(id)).catch(() => {});
  }

  #templatePath(id: string): string {
    return join(this.#dir, "templates", `${safeId(id)}.json`);
  }

  // --- batches -----------------------------------------------------------

  /** The folder of a batch: data.csv, template.json, out/, thumbs/. */
  batchDir(id: string): string {
    return join(this.#dir, "batches", safeId(id));
  }

  /**
   * Creates a queued batch from a template file and CSV bytes already
   * checked by the caller. A library template is used in place; an uploaded
   * one is stored in the batch's folder.
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
    await Deno.mkdir(join(dir, "out"), { recursive: true });
    await Deno.mkdir(join(dir, "thumbs"), { recursive: true });
    await Deno.writeFile(join(dir, "data.csv"), input.csv);
    let templatePath = resolve(input.templatePath);
    if (input.templateDoc !== undefined) {
      templatePath = join(dir, "template.json");
      await Deno.writeTextFile(templatePath, JSON.stringify(input.templateDoc));
    }
    await Deno.writeTextFile(join(dir, "template.path"), templatePath);
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
    await this.#kv.set(["batches", id], status);
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

  /** Ends a run: done, failed or cancelled. */
  finish(id: string, end: BatchEnd): Promise<BatchStatus> {
    return this.updateBatch(id, finishing(end, new Date()));
  }

  /** Puts a running batch back in the queue (its worker is shutting down). */
  requeue(id: string): Promise<BatchStatus> {
    return this.updateBatch(id, requeueing);
  }

  /** The running batch's worker is alive; returns the status it finds. */
  heartbeat(id: string): Promise<BatchStatus> {
    return this.updateBatch(id, beating(Date.now()));
  }

  /** Records a running batch's progress (and a heartbeat). */
  progress(id: string, progress: BatchProgress): Promise<BatchStatus> {
    return this.updateBatch(id, progressing(progress, Date.now()));
  }

  /**
   * Changes fields of a batch's status (read, merge, write, atomically). The
   * state changes have their own methods above.
   */
  async updateBatch(
    id: string,
    change: Partial<BatchStatus> | StatusChange,
  ): Promise<BatchStatus> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.#kv.get<BatchStatus>(["batches", id]);
      if (!entry.value) throw new NotFoundError(`No batch "${id}"`);
      const patch = typeof change === "function" ? change(entry.value) : change;
      const next = { ...entry.value, ...patch };
      const ok = await this.#kv.atomic().check(entry).set(["batches", id], next)
        .commit();
      if (ok.ok) return next;
    }
    throw new PressrunError(`Cannot update batch ${id}: too much contention`);
  }

  /**
   * Takes the oldest queued batch, or a running one whose worker stopped
   * beating for `staleAfterMs`, for `worker`. Atomic across processes.
   */
  async claimNext(
    worker: string,
    staleAfterMs: number,
  ): Promise<BatchStatus | undefined> {
    const now = Date.now();
    const candidates: Deno.KvEntry<BatchStatus>[] = [];
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
      };
      const ok = await this.#kv.atomic().check(e).set(e.key, next).commit();
      if (ok.ok) return next;
    }
    return undefined;
  }

  /** Records the outcome of one record of a batch. */
  async putPiece(id: string, entry: ManifestEntry): Promise<void> {
    await this.#kv.set(["pieces", id, entry.index], entry);
  }

  /** Every record outcome stored for a batch, by index. */
  async pieces(id: string): Promise<Map<number, ManifestEntry>> {
    const out = new Map<number, ManifestEntry>();
    for await (
      const e of this.#kv.list<ManifestEntry>({ prefix: ["pieces", id] })
    ) {
      out.set(e.value.index, e.value);
    }
    return out;
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

function describe(
  id: string,
  template: Template,
  builtIn: boolean,
): TemplateInfo {
  const g = template.geometry;
  return {
    id,
    name: template.name,
    fields: template.fields,
    size: {
      width: round(g.trimWidthPt / 72),
      height: round(g.trimHeightPt / 72),
      unit: "in",
    },
    builtIn,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function safeId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new NotFoundError(`No such id "${id}"`);
  }
  return id;
}
