/**
 * The benchmark's own deterministic data: the example postcard at screen
 * size (1536×1024, a bare Fabric document) and at print size (6×4 in, 300 dpi,
 * bleed), and a synthetic CSV of N recipients.
 *
 * @module
 */
import { join } from "node:path";

const EXAMPLE = new URL("../examples/postcard/", import.meta.url);
const ASSETS = ["hero.jpg", "portrait-mb.jpg", "portrait-ak.jpg"];
/** First names: the example postcard's eight, in its CSV's order, then two more. */
export const FIRST_NAMES: readonly string[] = [
  "Maya",
  "Arjun",
  "Sofía",
  "Liam",
  "Hannah",
  "Kenji",
  "Amélie",
  "Noah",
  "Zoë",
  "Łukasz",
];
const LAST = [
  "Brooks",
  "Kapoor",
  "Hernández",
  "O'Connor",
  "Schröder",
  "Watanabe",
  "Laurent",
  "Williams",
];
const OFFERS = [
  "20% off",
  "Free delivery",
  "2 for 1 on all plants",
  "15% off",
  "A free tote bag with any order",
];

/** The page sizes the benchmark knows. */
export type BenchSize = "screen" | "print";

/** Writes the template for `size` and a CSV of `records` rows into `dir`. */
export async function writeBenchData(
  dir: string,
  size: BenchSize,
  records: number,
): Promise<{ template: string; data: string }> {
  for (const name of ASSETS) {
    await Deno.copyFile(new URL(name, EXAMPLE), join(dir, name));
  }
  const example = JSON.parse(
    await Deno.readTextFile(new URL("template.json", EXAMPLE)),
  );
  const template = join(dir, `${size}.json`);
  const doc = size === "print" ? example : screenVersion(example.canvas);
  await Deno.writeTextFile(template, JSON.stringify(doc));
  const data = join(dir, "recipients.csv");
  const lines = [
    "id,firstName,lastName,company,street,city,state,zip,offer,url,photo",
  ];
  for (let i = 0; i < records; i++) {
    const id = 100000 + i;
    lines.push([
      id,
      FIRST_NAMES[i % FIRST_NAMES.length],
      `"${LAST[(i * 7) % LAST.length]}"`,
      i % 4 === 0 ? `"${LAST[i % LAST.length]} & Co"` : "",
      `${(i * 37) % 900 + 1} Orchard Lane`,
      "Springfield",
      "IL",
      String(62701 + (i % 90)),
      `"${OFFERS[i % OFFERS.length]}"`,
      `https://example.com/r/${id}?c=bench`,
      i % 3 === 0 ? ASSETS[1 + (i % 2)] : "",
    ].join(","));
  }
  await Deno.writeTextFile(data, lines.join("\n") + "\n");
  return { template, data };
}

/** The 1875×1275 design as a bare 1536×1024 document, scaled uniformly. */
function screenVersion(canvas: { objects: Record<string, number>[] }) {
  const s = 1536 / 1875;
  return {
    ...canvas,
    width: 1536,
    height: 1024,
    objects: canvas.objects.map((o) => ({
      ...o,
      left: o.left! * s,
      top: o.top! * s,
      scaleX: (o.scaleX ?? 1) * s,
      scaleY: (o.scaleY ?? 1) * s,
    })),
  };
}
