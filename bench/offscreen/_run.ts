/**
 * One measured run of one config: a fresh Chromium, the pages (and their
 * workers) opened and warmed with one piece per renderer, then every record
 * timed until Deno has written the last piece, with CPU per process type and
 * peak Chromium PSS over that window.
 *
 * @module
 */
import { deadline, delay } from "../../common/async.ts";
import { TimeoutError } from "../../common/errors.ts";
import { Browser } from "../../render/browser.ts";
import { processTreeMemory } from "../../render/process_memory.ts";
import type { Template } from "../../template/parse.ts";
import type { PageSpec } from "./api.ts";
import { type Config, piecesInFlight } from "./_configs.ts";
import {
  type CpuByType,
  cpuByType,
  cpuPerPiece,
  machineBusyMs,
} from "./_cpu.ts";
import { openDriver } from "./_drivers.ts";
import { BenchOrigin } from "./_origin.ts";
import {
  type Identity,
  type Job,
  PieceLedger,
  type Reference,
} from "./_pieces.ts";

/** Everything a run needs besides its config; the same for every run. */
export interface RunContext {
  spec: PageSpec;
  template: Template;
  jobs: Job[];
  reference: Reference;
  /** Scratch folder the pieces are written to. */
  out: string;
}

/** What one run measured. */
export interface RunResult {
  config: string;
  pieces: number;
  seconds: number;
  perSecond: number;
  /** CPU ms per piece by process type (`deno` is the bench itself). */
  cpu: CpuByType;
  /**
   * The share of the machine's CPU time that other processes (not this
   * Deno, not this run's Chromium) took during the timed window, in %: how
   * quiet the machine was.
   */
  othersCpuPct: number;
  /** Peak PSS of all Chromium processes of the run, in MB. */
  peakPssMB: number;
  /** Peak PSS divided by the pieces the config holds at once, in MB. */
  pssPerPieceMB: number;
  identity: Identity;
  /** Errors the pages and workers reported (the run may still succeed). */
  errors: string[];
}

/** Runs `config` once over every job of `context`. */
export async function runConfig(
  config: Config,
  context: RunContext,
): Promise<RunResult> {
  const { jobs, spec, template, reference, out } = context;
  await using browser = await Browser.launch();
  const profile = browser.profileDir!;
  const ledger = new PieceLedger({ out, template, reference });
  const queue: Job[] = [];
  let written: Promise<void>[] = [];
  const request = (job: Job) => {
    const expected = ledger.expect(job.index);
    written.push(expected.written);
    return { payload: job.payload, postTo: origin.pieceUrl(expected.token) };
  };
  await using origin = BenchOrigin.start({
    piece: (token, body) => ledger.receive(token, body),
    pull: (n) => queue.splice(0, n).map(request),
  });
  await using driver = await openDriver(browser, {
    config,
    spec,
    origin,
    ledger,
    request,
  });
  await driver.warm(jobs);
  await Promise.all(written);
  written = [];
  ledger.reset();

  const memory = pssSampler(profile);
  let seconds, cpu, othersCpuPct, peakPss;
  try {
    const machineBefore = await machineBusyMs();
    const before = await cpuByType(profile);
    const started = performance.now();
    queue.push(...jobs);
    const timeoutMs = 30_000 + 1_000 * jobs.length;
    await deadline(
      (async () => {
        await driver.drain(queue);
        await Promise.all(written);
      })(),
      timeoutMs,
      {
        error: () =>
          new TimeoutError(
            `Cannot finish ${config.name}: ${jobs.length} pieces took longer than ${
              timeoutMs / 1000
            } s`,
          ),
      },
    );
    seconds = (performance.now() - started) / 1000;
    const after = await cpuByType(profile);
    const machine = await machineBusyMs() - machineBefore;
    const ours = Object.entries(after)
      .reduce((sum, [type, ms]) => sum + ms - (before[type] ?? 0), 0);
    othersCpuPct = 100 * (machine - ours) /
      (seconds * 1000 * navigator.hardwareConcurrency);
    cpu = cpuPerPiece(before, after, jobs.length);
  } finally {
    peakPss = await memory.stop();
  }
  const peakPssMB = peakPss / 2 ** 20;
  return {
    config: config.name,
    pieces: jobs.length,
    seconds,
    perSecond: jobs.length / seconds,
    cpu,
    othersCpuPct,
    peakPssMB,
    pssPerPieceMB: peakPssMB / piecesInFlight(config),
    identity: await ledger.identity(),
    errors: await driver.errors(),
  };
}

/** Samples the PSS of a Chromium profile's processes until stopped. */
function pssSampler(profile: string): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await processTreeMemory(profile)).pss);
      await delay(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}
