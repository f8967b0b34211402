/**
 * Previews follow the server's asset policy (remote images only when the
 * server allows them, as its batches do) and their errors name assets as the
 * template names them, never the server's paths.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { PNG } from "pngjs";
import { TemplateError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import { renderPreview } from "../server/preview.ts";
import { loadTemplate } from "../template/parse.ts";
import { readPng, tempDir } from "./_helpers.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const REMOTE = "https://images.example/red.png";

/** An 8×8 opaque red PNG. */
function redPng(): Uint8Array {
  const png = new PNG({ width: 8, height: 8 });
  for (let i = 0; i < 64; i++) png.data.set([255, 0, 0, 255], i * 4);
  return new Uint8Array(Buffer.from(PNG.sync.write(png)));
}

/** A 2×2 in template at 72 dpi: one 100×100 px image from `src`. */
function template(src: string, fonts: unknown[] = []) {
  return {
    size: { width: 2, height: 2, unit: "in" },
    dpi: 72,
    fonts,
    canvas: {
      objects: [
        {
          type: "Image",
          src,
          originX: "left",
          originY: "top",
          left: 0,
          top: 0,
          width: 100,
          height: 100,
        },
      ],
    },
  };
}

async function writeTemplate(dir: string, doc: unknown): Promise<string> {
  const path = join(dir, "template.json");
  await Deno.writeTextFile(path, JSON.stringify(doc));
  return path;
}

/** Asserts `promise` rejects with a TemplateError naming `parts` and not `dir`. */
async function assertNamed(
  promise: Promise<unknown>,
  dir: string,
  ...parts: string[]
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TemplateError, String(error));
    for (const part of parts) {
      assert.ok(error.message.includes(part), `${error.message} ∌ ${part}`);
    }
    assert.ok(
      !error.message.includes(dir),
      `${error.message} names the server's folder ${dir}`,
    );
    return true;
  });
}

Deno.test(
  "renderPreview() follows the server's asset policy for remote images",
  SANITIZED,
  async (t) => {
    await using browser = await Browser.launch();
    await using dir = await tempDir();
    const path = await writeTemplate(dir.path, template(REMOTE));
    const fetched: string[] = [];
    const assets = {
      resolveDns: () => Promise.resolve(["93.184.216.34"]),
      fetch: (input: RequestInfo | URL) => {
        fetched.push(String(input));
        return Promise.resolve(
          new Response(redPng().slice(), {
            headers: { "content-type": "image/png" },
          }),
        );
      },
    };

    await t.step("allowed: the image is fetched and drawn", async () => {
      const png = await readPng(
        await renderPreview(browser, path, {
          assets: { ...assets, allowRemote: true },
        }),
      );
      assert.deepEqual(fetched, [REMOTE]);
      const i = (50 * png.width + 50) * 4;
      assert.deepEqual([...png.data.subarray(i, i + 3)], [255, 0, 0]);
    });

    await t.step(
      "not allowed (the default): refused as batches refuse it",
      async () => {
        fetched.length = 0;
        await assertNamed(
          renderPreview(browser, path, { assets }),
          dir.path,
          "canvas.objects[0].src",
          `"${REMOTE}" is not allowed: remote assets are off`,
        );
        await assertNamed(
          renderPreview(browser, path),
          dir.path,
          "remote assets are off",
        );
        assert.deepEqual(fetched, []);
      },
    );
  },
);

Deno.test(
  "renderPreview() names a missing asset as the template names it, not by the server's path",
  SANITIZED,
  async (t) => {
    await using browser = await Browser.launch();
    await using dir = await tempDir();

    await t.step("an image", async () => {
      const path = await writeTemplate(dir.path, template("photos/photo.jpg"));
      await assertNamed(
        renderPreview(browser, path, { source: "Spring postcard" }),
        dir.path,
        `Spring postcard canvas.objects[0].src: cannot read "photos/photo.jpg": file not found`,
      );
      await assertNamed(
        renderPreview(browser, path),
        dir.path,
        `template.json canvas.objects[0].src: cannot read "photos/photo.jpg"`,
      );
    });

    await t.step("a font", async () => {
      const path = await writeTemplate(
        dir.path,
        template("data:image/png;base64,iVBORw0KGgo=", [
          { family: "Brand", src: "fonts/brand.ttf" },
        ]),
      );
      await assertNamed(
        renderPreview(browser, path),
        dir.path,
        `fonts[0].src: cannot read "fonts/brand.ttf": file not found`,
      );
    });

    await t.step("an image that is a folder", async () => {
      await Deno.mkdir(join(dir.path, "photo.jpg"));
      const path = await writeTemplate(dir.path, template("photo.jpg"));
      await assertNamed(
        renderPreview(browser, path),
        dir.path,
        `"photo.jpg" is not a file`,
      );
    });
  },
);

Deno.test(
  "loadTemplate() with a source names that source, and no path, in every error",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const cases: [string, string | undefined, string][] = [
      ["a missing file", undefined, "Cannot read template t1: file not found"],
      ["bad JSON", "{", "Cannot parse template t1: "],
      ["a bad document", "[]", "Invalid template t1: expected a JSON object"],
    ];
    for (const [name, text, message] of cases) {
      await t.step(name, async () => {
        const path = join(dir.path, `${name}.json`);
        if (text !== undefined) await Deno.writeTextFile(path, text);
        await assertNamed(
          loadTemplate(path, { source: "t1" }),
          dir.path,
          message,
        );
      });
    }
  },
);
