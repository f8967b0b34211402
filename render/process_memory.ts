/**
 * Memory of a process tree, read from /proc: the Chromium processes of one
 * profile (matched by their command line) summed as PSS, so pages shared
 * between them are not counted twice.
 *
 * @module
 */

/** Memory of the processes whose command line contains `marker`, in bytes. */
export async function processTreeMemory(
  marker: string,
): Promise<{ pss: number; rss: number; processes: number }> {
  let pss = 0;
  let rss = 0;
  let processes = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (!cmdline.includes(marker)) continue;
      const rollup = await Deno.readTextFile(
        `/proc/${entry.name}/smaps_rollup`,
      );
      pss += kib(rollup, "Pss");
      rss += kib(rollup, "Rss");
      processes++;
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return { pss, rss, processes };
}

function kib(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}
