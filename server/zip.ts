/**
 * A ZIP of files streamed as a response body; the PDFs are already
 * compressed, so they are stored as they are.
 *
 * @module
 */
import { Zip, ZipPassThrough } from "fflate";

/** Streams `files` (name → path) as a ZIP archive. */
export function zipStream(
  files: [string, string][],
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      const zip = new Zip((error, chunk, final) => {
        if (error) controller.error(error);
        else {
          controller.enqueue(chunk);
          if (final) controller.close();
        }
      });
      try {
        for (const [name, path] of files) {
          const entry = new ZipPassThrough(name);
          zip.add(entry);
          entry.push(await Deno.readFile(path), true);
        }
        zip.end();
      } catch (error) {
        controller.error(error);
      }
    },
  });
}
