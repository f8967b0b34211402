// The pressrun API client for the browser: JSON calls with the access token,
// the dialog that asks for a token on a 401, and images fetched with it.

const TOKEN_KEY = "pressrun.token";

/** An error answered by the API, or a network failure (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server was not reached
   * @param {string} message what went wrong, in plain words
   * @param {{ requestId?: string, cause?: unknown }} [options]
   */
  constructor(status, message, options = {}) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.status = status;
    this.requestId = options.requestId;
  }
}

/** @returns {string} the access token kept for this tab, or "" */
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/**
 * `?token=…` for URLs that cannot send a header (EventSource, links, images).
 * @returns {string} the query string, or "" when no token is set
 */
export function tokenQuery() {
  const token = getToken();
  return token ? `?token=${encodeURIComponent(token)}` : "";
}

/** @type {Promise<string | null> | null} */
let tokenAsk = null;

/** The token dialog's content (static markup, no script). */
const TOKEN_DIALOG =
  `<form method="dialog"> <h2 id="token-title">Access token needed</h2> <p>This pressrun server is protected. Enter the access token you were given.</p> <p id="token-wrong" class="check missing" hidden>That token was not accepted. Try again.</p> <label class="field" for="token-input"> <span>Access token</span> <input id="token-input" type="password" autocomplete="off" required> </label> <div class="actions"> <button id="token-submit" class="button primary" value="ok">Continue</button> <button id="token-cancel" class="button" value="cancel" formnovalidate>Cancel</button> </div> </form>`;

/**
 * The token dialog, added to the page the first time it is needed.
 * @returns {HTMLDialogElement}
 */
function tokenDialog() {
  let dialog = document.querySelector("#token-dialog");
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.id = "token-dialog";
    dialog.setAttribute("aria-labelledby", "token-title");
    dialog.innerHTML = TOKEN_DIALOG;
    document.body.append(dialog);
  }
  return dialog;
}

/**
 * Shows the token dialog, once even when several requests got a 401.
 * @param {boolean} rejected whether a token was sent and refused
 * @returns {Promise<string | null>} the token, or null when cancelled
 */
function askToken(rejected) {
  tokenAsk ??= new Promise((resolve) => {
    const dialog = tokenDialog();
    const input = document.querySelector("#token-input");
    document.querySelector("#token-wrong").hidden = !rejected;
    input.value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", () => {
      const token = dialog.returnValue === "ok" ? input.value.trim() : "";
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
      tokenAsk = null;
      resolve(token || null);
    }, { once: true });
    dialog.showModal();
  });
  return tokenAsk;
}

/**
 * Calls the JSON API. Sends the token, asks for one on a 401 and retries.
 * @param {string} path e.g. "/api/templates"
 * @param {{ method?: string, body?: unknown, as?: "json" | "blob" | "response" }} [options]
 *   `body` is sent as is when FormData, as JSON otherwise
 * @returns {Promise<any>} the parsed answer (null for 204)
 * @throws {ApiError} with the server's `message`
 */
export async function api(path, options = {}) {
  const { method = "GET", body, as = "json" } = options;
  /** @type {RequestInit & { headers: Headers }} */
  const init = { method, headers: new Headers() };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers.set("Content-Type", "application/json");
  }
  for (let attempt = 0;; attempt++) {
    const token = getToken();
    if (token) init.headers.set("Authorization", `Bearer ${token}`);
    else init.headers.delete("Authorization");
    let res;
    try {
      res = await fetch(path, init);
    } catch (cause) {
      throw new ApiError(
        0,
        "Cannot reach the pressrun server. Check that it is running, then try again.",
        { cause },
      );
    }
    if (res.status === 401 && attempt < 3) {
      if (await askToken(token !== "") !== null) continue;
      throw new ApiError(401, "This server needs an access token.");
    }
    if (!res.ok) throw await errorFrom(res);
    if (as === "response") return res;
    if (res.status === 204) return null;
    return as === "blob" ? res.blob() : res.json();
  }
}

/**
 * @param {Response} res a failed response
 * @returns {Promise<ApiError>} carrying the JSON `message` when there is one
 */
async function errorFrom(res) {
  const fallback = {
    403: "That is not allowed.",
    404: "That could not be found. It may have been deleted.",
    413: "The file is too large for this server.",
  }[res.status] ?? `The server answered ${res.status} ${res.statusText}.`;
  try {
    const json = await res.json();
    return new ApiError(res.status, json.message || json.error || fallback, {
      requestId: json.requestId,
    });
  } catch {
    return new ApiError(res.status, fallback);
  }
}

/**
 * Shows an API image in `img`: a plain URL, or fetched with the token.
 * @param {HTMLImageElement} img the target
 * @param {string} path the image's API path
 */
export async function loadImage(img, path) {
  if (!getToken()) {
    img.src = path;
    return;
  }
  try {
    img.src = URL.createObjectURL(await api(path, { as: "blob" }));
    img.addEventListener("load", () => URL.revokeObjectURL(img.src), {
      once: true,
    });
  } catch {
    img.dispatchEvent(new Event("error"));
  }
}
