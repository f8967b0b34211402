/**
 * The render page's globals besides `pressrun` (declared with the contract in
 * `../page_api.ts`): Fabric's browser build, loaded from `/fabric.js` before
 * `render.js`. Its types come from the installed npm package.
 *
 * @module
 */
import type * as Fabric from "fabric";

declare global {
  /** Fabric's UMD build; only defined inside the render page. */
  var fabric: typeof Fabric;
}
