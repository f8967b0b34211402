/**
 * Remote template images under the asset policy: the host of every hop is
 * checked (literal IPs and every DNS answer) against private, loopback,
 * link-local and other non-public ranges before anything is sent, redirects
 * are followed by hand, and the body is capped in size and time.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { abortable } from "../common/async.ts";
import { TemplateError } from "../common/errors.ts";
/** The most redirects one remote asset may take. */
export const MAX_REDIRECTS = 5;

/** How remote assets are fetched; see `AssetResolverOptions`. */
export interface RemoteOptions {
  maxBytes: number;
  timeoutMs: number;
  resolveDns: (host: string, signal?: AbortSignal) => Promise<string[]>;
  /** Undefined means `globalThis.fetch` with a Deno.HttpClient. */
  fetch?: typeof fetch;
}

type HostCheck = { ip: string } | { refused: string } | { failed: string };

/**
 * The body at `url`, an http(s) URL parsed from `src` (the caller sniffs the
 * format). Throws {@linkcode TemplateError} for a refused address, a failed
 * request or a body past `maxBytes`, naming `where` (its `location.field`)
 * and `src`.
 */
export async function fetchRemote(
  url: URL,
  { src, where }: { src: string; where: string },
  options: RemoteOptions,
): Promise<Uint8Array> {
  const error = (detail: string, cause?: unknown) =>
    new TemplateError(`${where}: ${detail}`, {
      cause,
      location: { field: where },
    });
  const refused = (reason: string) => error(`"${src}" is refused: ${reason}`);
  const failed = (reason: string, cause?: unknown) =>
    error(`cannot fetch "${src}": ${reason}`, cause);
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    let current = url;
    for (let hop = 0;; hop++) {
      const via = hop === 0 ? "" : `it redirects to "${current.href}", and `;
      if (current.username || current.password) {
        throw refused(`${via}URLs with credentials are not allowed`);
      }
      const check = await hostCheck(current.hostname, options, signal);
      if ("refused" in check) throw refused(via + check.refused);
      if ("failed" in check) throw failed(check.failed);
      const { response, close } = await send(
        { url: current, ip: check.ip },
        options,
        signal,
      );
      try {
        if ([301, 302, 303, 307, 308].includes(response.status)) {
          await discard(response);
          const location = response.headers.get("location");
          if (location === null) {
            throw failed(`HTTP ${response.status} without a Location header`);
          }
          if (hop === MAX_REDIRECTS) {
            throw refused(`it redirects more than ${MAX_REDIRECTS} times`);
          }
          let next: URL;
          try {
            next = new URL(location, current);
          } catch {
            throw refused(`it redirects to an invalid URL "${location}"`);
          }
          if (next.protocol !== "http:" && next.protocol !== "https:") {
            throw refused(
              `it redirects to "${next.href}", and only http: and https: redirects are followed`,
            );
          }
          current = next;
          continue;
        }
        if (!response.ok) {
          await discard(response);
          throw failed(`the server answered HTTP ${response.status || "0"}`);
        }
        const bytes = await readCapped(response, options.maxBytes, signal);
        if (bytes) return bytes;
        throw error(
          `"${src}" is larger than the ${
            bytesText(options.maxBytes)
          } allowed for one asset`,
        );
      } finally {
        close();
      }
    }
  } catch (cause) {
    if (cause instanceof TemplateError) throw cause;
    if (signal.aborted) {
      throw failed(`no answer within ${options.timeoutMs} ms`, cause);
    }
    throw failed((cause as Error)?.message ?? String(cause), cause);
  }
}

/** The address to connect to for `hostname`, or why it is refused. */
async function hostCheck(
  hostname: string,
  options: RemoteOptions,
  signal: AbortSignal,
): Promise<HostCheck> {
  const literal = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (parseIp(literal)) {
    const risk = addressRisk(literal);
    return risk ? { refused: `${hostname} is ${risk}` } : { ip: literal };
  }
  const name = hostname.replace(/\.$/, "").toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost")) {
    return { refused: `${hostname} is a loopback name` };
  }
  let answers: string[];
  try {
    answers = await abortable(options.resolveDns(hostname, signal), signal);
  } catch (error) {
    if (signal.aborted) throw error;
    return {
      failed: `${hostname} could not be resolved (${
        (error as Error)?.message ?? error
      })`,
    };
  }
  if (answers.length === 0) {
    return { refused: `${hostname} does not resolve to any address` };
  }
  for (const answer of answers) {
    if (!parseIp(answer)) {
      return {
        refused:
          `${hostname} resolves to "${answer}", which is not an IP address`,
      };
    }
    const risk = addressRisk(answer);
    if (risk) return { refused: `${hostname} resolves to ${answer}, ${risk}` };
  }
  return { ip: answers[0]! };
}

/**
 * Sends one request. Plain http goes to the checked IP with the name in the
 * Host header, so a DNS answer that changes after the check (rebinding) is
 * never used. https cannot be pinned that way: the TLS certificate must match
 * the name, Deno's fetch has no per-request resolver, and its "tcp" proxy
 * transport speaks plain HTTP. So https goes to the name and the system
 * resolver looks it up again: a name that answers a public address to the
 * check and a private one to the connect (or that /etc/hosts maps elsewhere)
 * slips through. That residual risk is accepted; the other side would also
 * need a certificate for the name that the private host presents.
 */
async function send(
  { url, ip }: { url: URL; ip: string },
  options: RemoteOptions,
  signal: AbortSignal,
): Promise<{ response: Response; close: () => void }> {
  let target = url.href;
  const init: RequestInit = { redirect: "manual", signal };
  let client: Deno.HttpClient | undefined;
  if (url.protocol === "http:") {
    const pinned = new URL(url);
    pinned.hostname = ip.includes(":") ? `[${ip}]` : ip;
    target = pinned.href;
    init.headers = { host: url.host };
    // Deno's fetch drops a Host header unless the client allows it.
    if (!options.fetch) client = Deno.createHttpClient({ allowHost: true });
  }
  const close = () => client?.close();
  try {
    const request = options.fetch
      ? options.fetch(target, init)
      : fetch(target, client ? { ...init, client } : init);
    return { response: await abortable(request, signal), close };
  } catch (error) {
    close();
    throw error;
  }
}

/** The body of `response`, or undefined once it passes `maxBytes`. */
async function readCapped(
  response: Response,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length > maxBytes) {
    await discard(response);
    return undefined;
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  // An injected fetch may ignore the signal: cancel the read ourselves.
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    signal.throwIfAborted();
    for (;;) {
      const { done, value } = await reader.read();
      signal.throwIfAborted();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  return Buffer.concat(chunks);
}

async function discard(response: Response): Promise<void> {
  if (response.body && !response.bodyUsed) {
    await response.body.cancel().catch(() => {});
  }
}

function bytesText(n: number): string {
  if (n % 1048576 === 0) return `${n / 1048576} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** A and AAAA records of `host` from Deno's resolver; no records is `[]`. */
export async function resolveDnsWithDeno(
  host: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const lookups = await Promise.allSettled([
    Deno.resolveDns(host, "A", { signal }),
    Deno.resolveDns(host, "AAAA", { signal }),
  ]);
  const addresses: string[] = [];
  for (const lookup of lookups) {
    if (lookup.status === "fulfilled") addresses.push(...lookup.value);
    else if (!(lookup.reason instanceof Deno.errors.NotFound)) {
      throw lookup.reason;
    }
  }
  return addresses;
}

// Addresses ------------------------------------------------------------------

/** The four bytes of a dotted-decimal IPv4 address. */
function parseIPv4(text: string): number[] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  const bytes = match?.slice(1).map(Number);
  return bytes?.every((b) => b <= 255) ? bytes : undefined;
}

/** The eight 16-bit groups of an IPv6 address (no brackets, no zone). */
function parseIPv6(text: string): number[] | undefined {
  let rest = text;
  const tail: number[] = [];
  const lastColon = rest.lastIndexOf(":");
  if (lastColon >= 0 && rest.includes(".", lastColon)) {
    const v4 = parseIPv4(rest.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push(v4[0]! << 8 | v4[1]!, v4[2]! << 8 | v4[3]!);
    rest = rest.slice(0, lastColon + 1);
    if (!rest.endsWith("::")) rest = rest.slice(0, -1);
  }
  const halves = rest.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) =>
    part === ""
      ? []
      : part.split(":").map((g) =>
        /^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN
      );
  const head = groups(halves[0]!);
  const back = [...(halves.length === 2 ? groups(halves[1]!) : []), ...tail];
  const count = head.length + back.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined;
  const all = [...head, ...Array(8 - count).fill(0), ...back];
  return all.some(Number.isNaN) ? undefined : all;
}

function parseIp(text: string): boolean {
  return parseIPv4(text) !== undefined || parseIPv6(text) !== undefined;
}

/**
 * Why an IP address must not be fetched ("a loopback address"), or undefined
 * for a public one. IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and
 * 6to4 addresses are judged by the IPv4 address they carry.
 */
export function addressRisk(ip: string): string | undefined {
  const v4 = parseIPv4(ip);
  if (v4) return ipv4Risk(v4);
  const g = parseIPv6(ip);
  if (!g) return "not an IP address";
  const embedded = (label: string, hi: number, lo: number) => {
    const bytes = [hi >> 8, hi & 255, lo >> 8, lo & 255];
    const risk = ipv4Risk(bytes);
    return risk && `${risk} (${label} ${bytes.join(".")})`;
  };
  const zeros = (from: number, to: number) =>
    g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return "an unspecified address";
  if (zeros(0, 7) && g[7] === 1) return "a loopback address";
  if (zeros(0, 5) && g[5] === 0xffff) {
    return embedded("IPv4-mapped", g[6]!, g[7]!);
  }
  if (zeros(0, 6)) return embedded("IPv4-compatible", g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) {
    return embedded("NAT64", g[6]!, g[7]!);
  }
  if (g[0] === 0x2002) return embedded("6to4", g[1]!, g[2]!);
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return "a unique-local address";
  if ((first & 0xffc0) === 0xfe80) return "a link-local address";
  if ((first & 0xffc0) === 0xfec0) return "a site-local address";
  if ((first & 0xff00) === 0xff00) return "a multicast address";
  return undefined;
}

function ipv4Risk([a = 0, b = 0, c = 0, d = 0]: number[]): string | undefined {
  if (a === 0) {
    return b === 0 && c === 0 && d === 0
      ? "an unspecified address"
      : "a reserved address";
  }
  if (a === 10) return "a private address";
  if (a === 100 && (b & 0xc0) === 64) return "a carrier-grade NAT address";
  if (a === 127) return "a loopback address";
  if (a === 169 && b === 254) return "a link-local address";
  if (a === 172 && (b & 0xf0) === 16) return "a private address";
  if (a === 192 && b === 0 && c === 0) return "a reserved address";
  if (a === 192 && b === 168) return "a private address";
  if (a === 198 && (b & 0xfe) === 18) return "a benchmarking address";
  if (a >= 224 && a < 240) return "a multicast address";
  if (a === 255 && b === 255 && c === 255 && d === 255) {
    return "a broadcast address";
  }
  if (a >= 240) return "a reserved address";
  return undefined;
}
