import assert from "node:assert/strict";
import { HttpError } from "../server/errors.ts";
import {
  multipartBoundary,
  readMultipart,
  UploadedFile,
  type UploadForm,
} from "../server/_multipart.ts";
import { tempDir } from "./_helpers.ts";

/** `form` encoded as fetch() sends it: the bytes and the boundary. */
async function encode(
  form: FormData,
): Promise<{ bytes: Uint8Array; boundary: string }> {
  const request = new Request("http://form.test/", {
    method: "POST",
    body: form,
  });
  return {
    bytes: await request.bytes(),
    boundary: multipartBoundary(request.headers.get("content-type")!),
  };
}

/** `bytes` as a stream of chunks of the sizes `sizes` gives in turn. */
function chunked(
  bytes: Uint8Array,
  sizes: () => number,
): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const end = Math.min(bytes.length, at + Math.max(1, sizes()));
      controller.enqueue(bytes.slice(at, end));
      at = end;
    },
  });
}

/** Every value of `form` as text (files as "name: content"), in order. */
async function values(
  form: UploadForm,
  names: string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    const value = form.get(name);
    out.push(
      value instanceof UploadedFile
        ? `${value.name}: ${await value.text()}`
        : String(value),
    );
  }
  return out;
}

/** A form whose file holds what a boundary search can trip on. */
function trickyForm(): { form: FormData; names: string[] } {
  const form = new FormData();
  form.append("template", "postcard");
  form.append("empty", "");
  form.append("utf8", "Zoë – 東京 \r\n second line");
  // A CSV that contains CRLF, dashes and a boundary-like line of its own.
  const csv = "a,b\r\n--,--\r\n\r\n--notTheBoundary\r\n" +
    "x".repeat(70_000) + "\r\n-\r\n--";
  form.append("data", new File([csv], "réc ipients.csv"));
  form.append("pdfMode", "raster");
  return {
    form,
    names: ["template", "empty", "utf8", "data", "pdfMode", "missing"],
  };
}

Deno.test("readMultipart() reads what fetch() sends as Deno's own parser does, however the body is cut into chunks", async (t) => {
  const { form, names } = trickyForm();
  const { bytes, boundary } = await encode(form);
  const expected: string[] = [];
  const reference = await new Response(bytes as Uint8Array<ArrayBuffer>, {
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  }).formData();
  for (const name of names) {
    const value = reference.get(name);
    expected.push(
      value instanceof File
        ? `${value.name}: ${await value.text()}`
        : String(value),
    );
  }
  const cuts: [string, () => number][] = [
    ["one byte at a time", () => 1],
    ["two bytes", () => 2],
    ["the boundary's length", () => boundary.length + 4],
    ["64 KiB", () => 65536],
    [
      "varying sizes",
      (() => {
        let n = 0;
        return () => [3, 17, 1, 250, 4096, 9][n++ % 6]!;
      })(),
    ],
  ];
  for (const [name, sizes] of cuts) {
    await t.step(name, async () => {
      await using dir = await tempDir();
      await using parsed = await readMultipart(
        chunked(bytes, sizes),
        boundary,
        {
          dir: dir.path,
          maxBytes: bytes.length,
        },
      );
      assert.deepEqual(await values(parsed, names), expected);
      const file = parsed.get("data") as UploadedFile;
      assert.match(file.path, /part-\d+$/, "stored under the reader's name");
      assert.equal(file.size, (await Deno.stat(file.path)).size);
    });
  }
});

Deno.test("readMultipart() refuses a body that is not a whole form (400) or is over a limit (413)", async (t) => {
  const { form } = trickyForm();
  const { bytes, boundary } = await encode(form);
  const text = new TextDecoder().decode(bytes);
  const cases: [string, Uint8Array, number, RegExp, object?][] = [
    [
      "cut inside the file",
      bytes.slice(0, bytes.length / 2),
      400,
      /ends inside a file/,
    ],
    [
      "cut inside the last field",
      bytes.slice(0, bytes.length - `--${boundary}--\r\n`.length),
      400,
      /ends inside a part/,
    ],
    [
      "cut right after the last boundary",
      bytes.slice(0, bytes.length - "--".length),
      400,
      /ends before its last part/,
    ],
    ["no part at all", new TextEncoder().encode("hello"), 400, /no part/],
    [
      "a part without a name",
      new TextEncoder().encode(
        text.replace('name="template"', 'title="template"'),
      ),
      400,
      /has no name/,
    ],
    ["more bytes than allowed", bytes, 413, /larger than/, {
      maxBytes: bytes.length - 1,
    }],
    ["a field over its limit", bytes, 413, /"utf8" is larger than 8 bytes/, {
      maxFieldBytes: 8,
    }],
    ["too many parts", bytes, 413, /more than 3 parts/, { maxParts: 3 }],
  ];
  for (const [name, body, status, message, limits] of cases) {
    await t.step(name, async () => {
      await using dir = await tempDir();
      const error = await readMultipart(
        chunked(body, () => 1000),
        boundary,
        { dir: dir.path, maxBytes: 2 ** 20, ...limits },
      ).then(() => undefined, (e) => e);
      assert.ok(error instanceof HttpError, String(error));
      assert.equal(error.status, status);
      assert.match(error.message, message);
    });
  }
});

Deno.test("multipartBoundary() takes the boundary of a form's Content-Type, quoted or not", () => {
  assert.equal(multipartBoundary("multipart/form-data; boundary=abc"), "abc");
  assert.equal(
    multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b"'),
    "a b",
  );
  for (const type of ["text/plain", "multipart/form-data", ""]) {
    assert.throws(
      () => multipartBoundary(type),
      (e) => e instanceof HttpError && e.status === 400,
      type,
    );
  }
});
