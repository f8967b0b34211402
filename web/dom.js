// @ts-check
// Page helpers shared by the app and the editor: finding and making elements,
// the error banner (built here, under the top bar, so neither page repeats its
// markup), and keeping the address in step with the page.
import { ApiError } from "./api.js";

/**
 * The element of the page matching `selector`, checked to be a `type`
 * (`HTMLElement` when not given).
 * @overload
 * @param {string} selector a CSS selector
 * @returns {HTMLElement}
 */
/**
 * @template {Element} T
 * @overload
 * @param {string} selector a CSS selector
 * @param {new () => T} type the element's class, e.g. `HTMLInputElement`
 * @returns {T}
 */
/**
 * @param {string} selector
 * @param {new () => Element} [type]
 * @returns {Element}
 * @throws {TypeError} when the page has no such element: a bug of the page
 */
export function $(selector, type = HTMLElement) {
  const el = document.querySelector(selector);
  if (!(el instanceof type)) {
    throw new TypeError(`The page has no ${type.name} ${selector}`);
  }
  return el;
}

/**
 * Creates an element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag element name
 * @param {Record<string, string | number | boolean>} [attrs] attributes;
 *   false leaves one out
 * @param {...(Node | string)} children nodes or text
 * @returns {HTMLElementTagNameMap[K]} the element
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== false) {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  el.append(...children);
  return el;
}

/**
 * Clones the content of a `<template>` of the page.
 * @param {string} id the template element's id
 * @returns {HTMLElement} a copy of its first element
 */
export function clone(id) {
  const first = $(`template#${id}`, HTMLTemplateElement).content
    .firstElementChild?.cloneNode(true);
  if (!(first instanceof HTMLElement)) {
    throw new TypeError(`The template #${id} has no element`);
  }
  return first;
}

/**
 * The first element inside `root` matching `selector`, checked to be a
 * `type` (`HTMLElement` when not given).
 * @overload
 * @param {ParentNode} root where to look
 * @param {string} selector a CSS selector
 * @returns {HTMLElement}
 */
/**
 * @template {Element} T
 * @overload
 * @param {ParentNode} root where to look
 * @param {string} selector a CSS selector
 * @param {new () => T} type the element's class
 * @returns {T}
 */
/**
 * @param {ParentNode} root
 * @param {string} selector
 * @param {new () => Element} [type]
 * @returns {Element}
 * @throws {TypeError} when there is no such element: a bug of the page
 */
export function within(root, selector, type = HTMLElement) {
  const el = root.querySelector(selector);
  if (!(el instanceof type)) {
    throw new TypeError(`No ${type.name} ${selector} in the element`);
  }
  return el;
}

/**
 * Keeps the address in step, so a reload comes back to the same place.
 * @param {string} key "template" or "batch"
 * @param {string} value its id
 */
export function setQuery(key, value) {
  const url = new URL(location.href);
  url.searchParams.set(key, value);
  history.replaceState(null, "", url);
}

/**
 * The error banner under the page's top bar, added the first time an error
 * is shown; its Dismiss button hides it.
 * @returns {HTMLElement} the banner, hidden until {@link showError}
 */
function errorBanner() {
  const found = document.querySelector("div#error");
  if (found instanceof HTMLElement) return found;
  const dismiss = h("button", {
    id: "error-dismiss",
    type: "button",
    class: "button small ghost",
    "aria-label": "Dismiss this message",
  }, "Dismiss");
  dismiss.addEventListener("click", hideError);
  const banner = h(
    "div",
    { id: "error", class: "banner", role: "alert", hidden: true },
    h(
      "p",
      {},
      h("span", { id: "error-message" }),
      " ",
      h("small", { id: "error-ref" }),
    ),
    dismiss,
  );
  $("header.topbar").after(banner);
  return banner;
}

/**
 * Shows an error in the banner at the top of the page.
 * @param {unknown} error what went wrong
 * @param {string} [context] a sentence saying what was being done
 */
export function showError(error, context) {
  const message = error instanceof Error ? error.message : String(error);
  const banner = errorBanner();
  within(banner, "#error-message").textContent = context
    ? `${context} ${message}`
    : message;
  const ref = error instanceof ApiError && error.requestId;
  within(banner, "#error-ref").textContent = ref ? `(reference ${ref})` : "";
  banner.hidden = false;
  banner.scrollIntoView({ block: "nearest", behavior: "smooth" });
  console.error(error);
}

/** Hides the error banner. */
export function hideError() {
  const banner = document.querySelector("div#error");
  if (banner instanceof HTMLElement) banner.hidden = true;
}
