/**
 * The template library of a job store: the built-in examples (read from
 * examples/ at start) and the templates users stored (their entries in KV,
 * their documents in the data folder's templates/).
 *
 * @module
 */
import { join } from "node:path";
import { ForbiddenError, NotFoundError } from "../common/errors.ts";
import {
  loadTemplate,
  parseTemplate,
  type Template,
} from "../template/parse.ts";
import { type DataFolder, safeId } from "./_data_folder.ts";
import { diskFull, writingTo } from "./_disk.ts";
import { retryBusy } from "./_kv.ts";
import type { KvStore } from "./kv_store.ts";
import { writeFileAtomic } from "./output.ts";

/** A template in the library. */
export interface TemplateInfo {
  id: string;
  name: string;
  fields: string[];
  /** The trim size, in inches. */
  size: { width: number; height: number; unit: "in" };
  /**
   * A bare document whose page (its workspace) is not at the origin: the
   * design-space point at the page's top-left corner.
   */
  origin?: { x: number; y: number };
  builtIn: boolean;
}

const EXAMPLES = new URL("../examples/", import.meta.url);

/** Built-in and stored templates. */
export class TemplateLibrary {
  #kv: KvStore;
  #folder: DataFolder;
  #builtIn = new Map<string, { info: TemplateInfo; path: string }>();

  private constructor(kv: KvStore, folder: DataFolder) {
    this.#kv = kv;
    this.#folder = folder;
  }

  /** The library over `kv` and `folder`, the examples read. */
  static async load(kv: KvStore, folder: DataFolder): Promise<TemplateLibrary> {
    const library = new TemplateLibrary(kv, folder);
    for await (const entry of Deno.readDir(EXAMPLES)) {
      if (!entry.isDirectory) continue;
      const path = join(EXAMPLES.pathname, entry.name, "template.json");
      try {
        const template = await loadTemplate(path);
        library.#builtIn.set(entry.name, {
          info: describe(entry.name, template, true),
          path,
        });
      } catch {
        // A folder without a template is not an example.
      }
    }
    return library;
  }

  /** Every template, built-in examples first. */
  async list(): Promise<TemplateInfo[]> {
    const own: TemplateInfo[] = [];
    for await (
      const e of this.#kv.list<TemplateInfo>({ prefix: ["templates"] })
    ) {
      own.push(e.value);
    }
    return [...[...this.#builtIn.values()].map((b) => b.info), ...own];
  }

  /** A template's library entry and the file it lives in. */
  async get(id: string): Promise<{ info: TemplateInfo; path: string }> {
    const builtIn = this.#builtIn.get(id);
    if (builtIn) return builtIn;
    const entry = await this.#kv.get<TemplateInfo>(["templates", id]);
    if (!entry.value) throw new NotFoundError(`No template "${id}"`);
    return { info: entry.value, path: this.#path(id) };
  }

  /**
   * Validates and stores a template document; returns its entry.
   * @throws {DiskFullError} If the disk has no room for it (nothing stored).
   */
  async add(doc: unknown): Promise<TemplateInfo> {
    const id = crypto.randomUUID();
    const dir = join(this.#folder.dir, "templates");
    const template = parseTemplate(doc, {
      source: "the uploaded template",
      baseDir: dir,
    });
    const info = describe(id, template, false);
    const json = JSON.stringify(doc);
    await this.#folder.needRoom(json.length, "the template");
    await writeFileAtomic(dir, `${id}.json`, json);
    try {
      await retryBusy(() => this.#kv.set(["templates", id], info));
    } catch (error) {
      await Deno.remove(this.#path(id)).catch(() => {});
      throw await diskFull(error, "the template", this.#folder.dir);
    }
    return info;
  }

  /** Removes a stored template; built-in ones cannot be removed. */
  async delete(id: string): Promise<void> {
    if (this.#builtIn.has(id)) {
      throw new ForbiddenError(
        `Template "${id}" is built in and cannot be deleted`,
      );
    }
    await this.get(id);
    await writingTo(
      this.#folder.dir,
      "the template library",
      () => retryBusy(() => this.#kv.delete(["templates", id])),
    );
    await Deno.remove(this.#path(id)).catch(() => {});
  }

  #path(id: string): string {
    return join(this.#folder.dir, "templates", `${safeId(id)}.json`);
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
    ...(template.designLeft || template.designTop) && {
      origin: { x: template.designLeft, y: template.designTop },
    },
    builtIn,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
