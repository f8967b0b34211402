/**
 * CPU time by process type, read from /proc: this Deno process and the
 * Chromium processes of one profile (matched by their command line), grouped
 * by their `--type=` switch (renderer, gpu-process, utility, zygote; none is
 * the browser process); and the whole machine's, to tell how much of it
 * other processes took during a run.
 *
 * @module
 */

/** CPU ms spent so far, by process type; `deno` is this process. */
export type CpuByType = Record<string, number>;

/** Linux's USER_HZ: /proc counts CPU time in ticks of 1/100 s. */
const MS_PER_TICK = 10;

/** CPU ms so far of this process and of the Chromium processes of `profile`. */
export async function cpuByType(profile: string): Promise<CpuByType> {
  const cpu: CpuByType = {
    deno: ticks(await Deno.readTextFile("/proc/self/stat")) * MS_PER_TICK,
  };
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (!cmdline.includes(profile)) continue;
      const type = /--type=([a-z-]+)/.exec(cmdline)?.[1] ?? "browser";
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      cpu[type] = (cpu[type] ?? 0) + ticks(stat) * MS_PER_TICK;
    } catch {
      // Gone while we looked.
    }
  }
  return cpu;
}

/**
 * CPU ms every process of the machine has spent so far (busy: not idle, not
 * waiting for I/O; time stolen by a hypervisor counts as busy).
 */
export async function machineBusyMs(): Promise<number> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0]!;
  // cpu user nice system idle iowait irq softirq steal (guest is in user)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = ticks.reduce((sum, t) => sum + t, 0) - ticks[3]! - ticks[4]!;
  return busy * MS_PER_TICK;
}

/** CPU ms per piece between two readings, by process type. */
export function cpuPerPiece(
  before: CpuByType,
  after: CpuByType,
  pieces: number,
): CpuByType {
  return Object.fromEntries(
    Object.entries(after).map((
      [type, ms],
    ) => [type, (ms - (before[type] ?? 0)) / pieces]),
  );
}

/** utime + stime of a /proc/PID/stat line (fields 14 and 15), in ticks. */
function ticks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
