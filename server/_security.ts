/**
 * What keeps other web sites out when the API has no token: requests must
 * name the server by one of its own host names (DNS rebinding), a state
 * change must come from the server's own pages (cross-site requests), and
 * every response carries headers that forbid sniffing and framing.
 *
 * @module
 */
import { HttpError } from "./errors.ts";

/** The names every server answers to: its loopback names. */
export const LOOPBACK_HOSTS: readonly string[] = [
  "localhost",
  "127.0.0.1",
  "[::1]",
];

/** The web pages' Content-Security-Policy: nothing from elsewhere, no frames. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers every response carries. */
const HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // Other sites may not embed the API's images, PDFs or JSON.
  "cross-origin-resource-policy": "same-origin",
  "referrer-policy": "no-referrer",
};

/** Adds the headers every response carries. */
export function secureHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(HEADERS)) headers.set(name, value);
}

/**
 * A host name as the URL parser writes it (lower case, IPv6 in brackets),
 * so an allow-list entry compares with `URL.hostname`; "*" stays as it is.
 * @throws {TypeError} when `name` is not a host name
 */
export function normalizeHost(name: string): string {
  const trimmed = name.trim();
  if (trimmed === "*") return trimmed;
  const bracketed = trimmed.includes(":") && !trimmed.startsWith("[")
    ? `[${trimmed}]`
    : trimmed;
  let url: URL | undefined;
  try {
    url = new URL(`http://${bracketed}/`);
  } catch {
    // Reported below.
  }
  if (!url || url.port || url.hostname === "" || url.pathname !== "/") {
    throw new TypeError(
      `Not a host name: "${name}" (a name or address, without a port)`,
    );
  }
  return url.hostname;
}

/**
 * 421 unless the request names the server by one of `hosts` (any port; "*"
 * for any name): a page of another site whose name was made to resolve to
 * this machine (DNS rebinding) sends its own name.
 */
export function checkHost(url: URL, hosts: ReadonlySet<string>): void {
  if (hosts.has("*") || hosts.has(url.hostname)) return;
  throw new HttpError(
    421,
    "wrong_host",
    `This server does not answer to the name "${url.hostname}"; start it ` +
      `with --allow-host ${url.hostname} to serve it under that name`,
  );
}

/** Methods that change nothing; any other is a state change. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * 403 for a state change sent by another site's page: the browser says so
 * in `Sec-Fetch-Site`, or its `Origin` is not the host the request is for.
 * Requests with neither header (curl, scripts) are not a browser's and pass.
 */
export function checkOrigin(req: Request, url: URL): void {
  if (SAFE_METHODS.has(req.method)) return;
  const site = req.headers.get("sec-fetch-site");
  const origin = req.headers.get("origin");
  let from: string | undefined;
  if (site !== null && site !== "same-origin" && site !== "none") {
    from = `a ${site} page`;
  } else if (origin !== null && originHost(origin) !== url.host) {
    from = origin === "null" ? "a page with no origin" : origin;
  }
  if (from === undefined) return;
  throw new HttpError(
    403,
    "cross_origin",
    `${req.method} ${url.pathname} was sent by ${from}; only this server's ` +
      "own pages may change anything",
  );
}

/** The host (and port) of an Origin header, or undefined for "null". */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
