/**
 * The job store's data folder and its disk: opening the KV file in it, the
 * free bytes it keeps (below them new work is refused), the reserve file
 * freed to record how a batch ended on a full disk, and the clean-up of
 * batch folders whose creation was cut off.
 *
 * @module
 */
import { join } from "node:path";
import { DiskFullError, NotFoundError } from "../common/errors.ts";
import {
  formatBytes,
  freeBytes,
  isDiskFull,
  randomTag,
  Reserve,
  writingTo,
} from "./_disk.ts";
import type { KvStore } from "./kv_store.ts";

/** Options for `JobStore.open()`. */
export interface StoreOptions {
  /**
   * Bytes the data folder keeps free: with fewer, a new batch or template is
   * refused (`DiskFullError`, HTTP 507) and workers take no batch.
   * @default 8 MiB
   */
  minFreeBytes?: number;
  /**
   * Size of the reserve file kept in the data folder: freed when the disk
   * fills, so that the store can still record how the batch ended; made
   * again once there is room. 0 for none.
   * @default 2 MiB
   */
  reserveBytes?: number;
  /**
   * The key-value store of batches and the library, instead of the KV file
   * in the data folder (queue mode: Redis, shared by every machine). The
   * job store closes it.
   * @default the folder's own Deno KV file
   */
  kv?: KvStore;
}

/** The data folder's state, for /healthz. */
export interface DataSpace {
  /** Bytes free (the reserve file not counted). */
  freeBytes: number;
  /** Below this, new work is refused. */
  minFreeBytes: number;
  /** Whether a file could be written there just now. */
  writable: boolean;
  /** Whether the reserve file is in place. */
  reserve: boolean;
}

const MiB = 2 ** 20;
const KV_FILE = "pressrun.kv";
const RESERVE_FILE = ".pressrun-reserve";
/** A batch folder being written: `batches/.<id>.tmp`. */
const STAGING = /^\.[A-Za-z0-9_-]{1,64}\.tmp$/;
/** A batch folder being written this long ago was cut off. */
const STAGING_STALE_MS = 3_600_000;

/** The data folder of a job store. */
export class DataFolder {
  /** The folder, absolute. */
  readonly dir: string;
  #minFree: number;
  #reserve: Reserve;

  constructor(dir: string, options: StoreOptions = {}) {
    this.dir = dir;
    this.#minFree = options.minFreeBytes ?? 8 * MiB;
    this.#reserve = new Reserve(
      join(dir, RESERVE_FILE),
      options.reserveBytes ?? 2 * MiB,
    );
  }

  /** The KV file. */
  get kvPath(): string {
    return join(this.dir, KV_FILE);
  }

  /**
   * Makes the folder, opens its KV file (freeing the reserve when the disk
   * is too full to) or the given key-value store, makes the reserve if there
   * is room and removes batch folders whose creation was cut off.
   * @throws {DiskFullError} If the disk is too full to open the KV file.
   */
  async open(kvStore?: KvStore): Promise<KvStore> {
    const kv = await writingTo(this.dir, "the job store", async () => {
      await Deno.mkdir(join(this.dir, "templates"), { recursive: true });
      await Deno.mkdir(join(this.dir, "batches"), { recursive: true });
      if (kvStore) return kvStore;
      try {
        return await Deno.openKv(this.kvPath);
      } catch (error) {
        // On a full disk SQLite cannot open its journal: the reserve frees
        // room for it.
        if (!isDiskFull(error) || !(await this.#reserve.release())) {
          throw error;
        }
        return await Deno.openKv(this.kvPath);
      }
    });
    await this.#reserve.keep(this.#minFree).catch(() => false);
    await this.#removeStaging();
    return kv;
  }

  /** Bytes free, whether the folder takes a write, the reserve. */
  async space(): Promise<DataSpace> {
    const probe = join(this.dir, `.probe.${randomTag()}.tmp`);
    let writable = true;
    try {
      await Deno.writeTextFile(probe, "ok");
    } catch {
      writable = false;
    } finally {
      await Deno.remove(probe).catch(() => {});
    }
    return {
      freeBytes: await freeBytes(this.dir),
      minFreeBytes: this.#minFree,
      writable,
      reserve: await this.#reserve.held(),
    };
  }

  /**
   * Whether more than the bytes kept free are free (making the reserve file
   * again first, if it was used and there is room now).
   */
  async hasRoom(): Promise<boolean> {
    await this.#reserve.keep(this.#minFree).catch(() => false);
    return await freeBytes(this.dir) >= this.#minFree;
  }

  /**
   * @throws {DiskFullError} Unless `bytes` more (`what`) leave the bytes
   * kept free.
   */
  async needRoom(bytes: number, what: string): Promise<void> {
    const free = await freeBytes(this.dir);
    if (free - bytes >= this.#minFree) return;
    throw new DiskFullError(
      `Cannot store ${what}: disk full (${
        formatBytes(free)
      } free in ${this.dir}, ${formatBytes(this.#minFree)} kept free)`,
      { folder: this.dir, freeBytes: free },
    );
  }

  /**
   * A write (of `what`) that records how a batch ended: on a full disk, the
   * reserve is freed and the write tried once more.
   */
  async lastWrite<T>(what: string, write: () => Promise<T>): Promise<T> {
    try {
      return await writingTo(this.dir, what, write);
    } catch (error) {
      if (!(error instanceof DiskFullError)) throw error;
      if (!(await this.#reserve.release())) throw error;
      return await writingTo(this.dir, what, write);
    }
  }

  /** The folder a new batch is written in before it takes its name. */
  stagingDir(id: string): string {
    return join(this.dir, "batches", `.${id}.tmp`);
  }

  async #removeStaging(): Promise<void> {
    const batches = join(this.dir, "batches");
    for await (const entry of Deno.readDir(batches)) {
      if (!entry.isDirectory || !STAGING.test(entry.name)) continue;
      const path = join(batches, entry.name);
      const { mtime } = await Deno.stat(path);
      if (Date.now() - (mtime?.getTime() ?? 0) > STAGING_STALE_MS) {
        await Deno.remove(path, { recursive: true }).catch(() => {});
      }
    }
  }
}

/**
 * `id` if it is safe as a file or folder name in the data folder (letters,
 * digits, _ and -, at most 64).
 * @throws {NotFoundError} Otherwise: no such thing can exist.
 */
export function safeId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new NotFoundError(`No such id "${id}"`);
  }
  return id;
}
