import assert from "node:assert/strict";
import { join } from "node:path";
import { PDFDict, PDFDocument, PDFName } from "pdf-lib";
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import { InputError, UsageError } from "../common/errors.ts";
import {
  imposePdf,
  imposePdfFile,
  type ImposeResult,
  parseGrid,
  parseGutter,
  parseSheet,
  PieceSource,
  planImposition,
  type SheetLayout,
} from "../pdf/impose.ts";
import {
  CARD,
  chunkOf,
  labels,
  mergedOf,
  type PageWords,
  piecesOf,
  POSTCARD,
  tool,
  withTempDir,
  wordsOf,
} from "./_print_pieces.ts";

/** Writes pieces as a batch does and returns their paths. */
async function writePieces(dir: string, pieces: Uint8Array[]) {
  const paths: string[] = [];
  for (const [i, bytes] of pieces.entries()) {
    const path = join(dir, `${String(i + 1).padStart(4, "0")}.pdf`);
    await Deno.writeFile(path, bytes);
    paths.push(path);
  }
  return paths;
}

/**
 * The label in each cell of a page (undefined when blank), read by poppler:
 * a label belongs to the cell its centre falls in, after `unflip` maps a
 * back page's point to the front's.
 */
function cellLabels(
  page: PageWords,
  layout: SheetLayout,
  unflip: (p: { x: number; y: number }) => { x: number; y: number } = (p) => p,
): (string | undefined)[] {
  const found: (string | undefined)[] = layout.cells.map(() => undefined);
  for (const word of page.words) {
    if (!/^[RB]\d{4}$/.test(word.text)) continue;
    const p = unflip(word);
    const cell = layout.cells.findIndex((c) =>
      p.x > c.x && p.x < c.x + c.width && p.y > c.y && p.y < c.y + c.height
    );
    assert.ok(cell >= 0, `${word.text} at ${p.x},${p.y} lies in no cell`);
    assert.equal(found[cell], undefined, `two labels in cell ${cell}`);
    found[cell] = word.text;
  }
  return found;
}

/** What cut-and-stack puts in each cell of each sheet, by the rule. */
function cutStack(records: number, cells: number, prefix = "R") {
  const sheets = Math.ceil(records / cells);
  return Array.from(
    { length: sheets },
    (_, s) =>
      Array.from({ length: cells }, (_, k) => {
        const r = k * sheets + s + 1;
        return r <= records
          ? `${prefix}${String(r).padStart(4, "0")}`
          : undefined;
      }),
  );
}

function stepRepeat(records: number, cells: number, prefix = "R") {
  const sheets = Math.ceil(records / cells);
  return Array.from(
    { length: sheets },
    (_, s) =>
      Array.from({ length: cells }, (_, k) => {
        const r = s * cells + k + 1;
        return r <= records
          ? `${prefix}${String(r).padStart(4, "0")}`
          : undefined;
      }),
  );
}

async function qpdfCheck(path: string): Promise<void> {
  const out = await tool("qpdf", "--check", path);
  assert.match(out, /No syntax or stream encoding errors found/);
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("parseGrid() takes columns x rows and refuses the rest naming --impose", async (t) => {
  for (
    const [text, columns, rows] of [["2x2", 2, 2], ["3×4", 3, 4], [
      " 1X1 ",
      1,
      1,
    ]] as const
  ) {
    await t.step(
      text,
      () => assert.deepEqual(parseGrid(text), { columns, rows }),
    );
  }
  for (const text of ["0x2", "2x0", "2", "axb", "51x1", "2x2x2", ""]) {
    await t.step(`refuses "${text}"`, () => {
      assert.throws(() => parseGrid(text), (e: Error) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, /^--impose must be columns x rows/);
        assert.ok(e.message.includes(`"${text}"`));
        return true;
      });
    });
  }
});

Deno.test("parseGutter() takes a length in inches or millimetres, in points", () => {
  assert.equal(parseGutter("0.25in"), 18);
  assert.ok(Math.abs(parseGutter("6mm") - 17.0079) < 1e-3);
  assert.throws(
    () => parseGutter("wide"),
    (e: Error) =>
      e instanceof UsageError &&
      e.message ===
        '--gutter must be a length like 0.25in or 6mm (at most 10 in), got "wide"',
  );
});

Deno.test("parseSheet() knows the press sheet presets", async (t) => {
  const cases: [string, number, number][] = [
    ["SRA3", 320 / 25.4 * 72, 450 / 25.4 * 72],
    ["13x19in", 936, 1368],
    ["12x18in", 864, 1296],
    ["a3", 297 / 25.4 * 72, 420 / 25.4 * 72],
    ["Letter", 612, 792],
    ["Tabloid", 792, 1224],
  ];
  for (const [text, w, h] of cases) {
    await t.step(text, () => {
      const sheet = parseSheet(text);
      assert.ok(Math.abs(sheet.widthPt - w) < 1e-6);
      assert.ok(Math.abs(sheet.heightPt - h) < 1e-6);
    });
  }
  for (const text of ["12x18px", "huge", "0x18in"]) {
    await t.step(`refuses "${text}"`, () => {
      assert.throws(
        () => parseSheet(text),
        (e: Error) =>
          e instanceof UsageError && /^--sheet must be/.test(e.message),
      );
    });
  }
});

Deno.test("planImposition() turns the sheet only when the grid fits that way alone", () => {
  // 2 postcards across need 12.25 in plus marks: only an 18 in width holds them.
  const turned = planImposition(10, POSTCARD, {
    grid: "2x2",
    sheet: "12x18in",
  });
  assert.equal(turned.layout.turned, true);
  assert.equal(turned.layout.widthPt, 1296);
  assert.equal(turned.layout.heightPt, 864);
  assert.equal(turned.sheets, 3);
  assert.equal(turned.blanks, 2);
  assert.match(turned.layout.description, /12x18in turned/);
  const upright = planImposition(23, CARD, { grid: "3x3", sheet: "12x18in" });
  assert.equal(upright.layout.turned, false);
  assert.equal(upright.sheets, 3);
  assert.equal(upright.blanks, 4);
  // Gutters: twice the bleed by default, so bleeds meet and never reach a trim.
  const [a, b] = upright.layout.cells;
  assert.equal(b!.x - (a!.x + a!.width), 2 * CARD.bleedPt);
  // Centred on the sheet.
  const { grid, widthPt } = upright.layout;
  assert.ok(Math.abs(grid.x - (widthPt - grid.x - grid.width)) < 1e-6);
});

Deno.test("planImposition() refuses a sheet smaller than a piece, an impossible grid and a thin gutter, naming the option", async (t) => {
  const refuses = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: Error) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  await t.step("a sheet smaller than one piece", () => {
    refuses(
      () => planImposition(4, POSTCARD, { grid: "1x1", sheet: "A6" }),
      /^--sheet A6 \(105×148 mm\) is smaller than one piece \(158\.8×108 mm with bleed\)$/,
    );
  });
  await t.step("a grid that fits neither way round", () => {
    refuses(
      () => planImposition(4, POSTCARD, { grid: "3x3", sheet: "12x18in" }),
      /^--impose 3x3 does not fit --sheet 12x18in: .* the sheet is 12×18 in either way round \(largest grid that fits: 1x4 as given, 2x2 with the sheet turned\)$/,
    );
  });
  await t.step("one piece and its marks too big for the sheet", () => {
    refuses(
      () => planImposition(4, POSTCARD, { grid: "1x1", sheet: "6.3x4.3in" }),
      /^--impose 1x1 does not fit --sheet 6\.3x4\.3in: .*not even one piece fits/,
    );
  });
  await t.step("a gutter narrower than twice the bleed", () => {
    refuses(
      () =>
        planImposition(4, CARD, {
          grid: "2x2",
          sheet: "Letter",
          gutterPt: 9,
        }),
      /^--gutter 0\.13 in is narrower than twice the bleed \(0\.25 in\)/,
    );
  });
  await t.step("an unknown order or flip", () => {
    refuses(
      () =>
        planImposition(4, CARD, {
          grid: "2x2",
          sheet: "Letter",
          order: "zigzag" as "cut-stack",
        }),
      /^--order must be cut-stack or step-repeat, got "zigzag"$/,
    );
    refuses(
      () =>
        planImposition(4, CARD, {
          grid: "2x2",
          sheet: "Letter",
          flip: "sideways" as "long-edge",
        }),
      /^--flip must be long-edge or short-edge, got "sideways"$/,
    );
  });
  await t.step("API names", () => {
    refuses(
      () =>
        planImposition(4, CARD, {
          grid: "0x2",
          sheet: "Letter",
          names: { impose: "impose" },
        }),
      /^impose must be/,
    );
  });
});

Deno.test("imposePdfFile() puts 10 postcards 2x2 on 3 sheets in cut-and-stack order, from the piece files", async () => {
  await withTempDir(async (dir) => {
    const paths = await writePieces(dir, await piecesOf(labels(10), POSTCARD));
    const out = join(dir, "imposed.pdf");
    const result = await imposePdfFile(PieceSource.files(paths), out, {
      grid: "2x2",
      sheet: "12x18in",
      title: "Spring postcards",
    });
    assert.equal(result.sheets, 3);
    assert.equal(result.pages, 3);
    assert.equal(result.layout.turned, true);
    const pages = await wordsOf(out);
    assert.equal(pages.length, 3);
    assert.deepEqual(
      pages.map((p) => cellLabels(p, result.layout)),
      cutStack(10, 4),
    );
    // After cutting, stacking cell by cell gives 1…10 then the 2 blanks.
    assert.deepEqual(
      [0, 1, 2, 3].flatMap((k) =>
        pages.map((p) => cellLabels(p, result.layout)[k])
      ),
      [...labels(10), undefined, undefined],
    );
    assert.equal(pages[0]!.width, 1296);
    const text = await tool("pdftotext", "-f", "1", "-l", "1", out, "-");
    assert.match(text, /Spring postcards · sheet 1 of 3 · records 1, 4, 7, 10/);
    await qpdfCheck(out);
  });
});

Deno.test("imposePdfFile() puts 23 cards 3x3 on 3 sheets in cut-and-stack order, from the merged PDF", async () => {
  await withTempDir(async (dir) => {
    const merged = join(dir, "merged.pdf");
    await Deno.writeFile(merged, await mergedOf(labels(23), CARD));
    const out = join(dir, "imposed.pdf");
    await using pieces = await PieceSource.open(merged);
    const result = await imposePdfFile(pieces, out, {
      grid: "3x3",
      sheet: "12x18in",
    });
    assert.equal(result.sheets, 3);
    assert.equal(result.blanks, 4);
    assert.equal(result.layout.turned, false);
    const pages = await wordsOf(out);
    assert.deepEqual(
      pages.map((p) => cellLabels(p, result.layout)),
      cutStack(23, 9),
    );
    const info = await tool("pdfinfo", out);
    assert.match(info, /Page size:\s+864 x 1296 pts/);
    await qpdfCheck(out);
  });
});

Deno.test("imposePdfFile() in step-repeat order fills sheet after sheet", async (t) => {
  for (
    const [grid, count, geometry] of [
      ["2x2", 10, POSTCARD],
      ["3x3", 23, CARD],
    ] as const
  ) {
    await t.step(`${grid}, ${count} records`, async () => {
      const { pdf, result } = await imposePdf(
        await PieceSource.open(await mergedOf(labels(count), geometry)),
        { grid, sheet: "12x18in", order: "step-repeat" },
      );
      await withTempDir(async (dir) => {
        const out = join(dir, "imposed.pdf");
        await Deno.writeFile(out, pdf);
        const pages = await wordsOf(out);
        assert.deepEqual(
          pages.map((p) => cellLabels(p, result.layout)),
          stepRepeat(count, result.layout.cells.length),
        );
        await qpdfCheck(out);
      });
    });
  }
});

/** Maps a point on a back page to the point of the front it is printed behind. */
function unflipper(result: ImposeResult, axis: "x" | "y") {
  const { widthPt, heightPt } = result.layout;
  return (p: { x: number; y: number }) =>
    axis === "x" ? { x: widthPt - p.x, y: p.y } : { x: p.x, y: heightPt - p.y };
}

Deno.test("imposePdfFile() with a back prints each record's back behind its front", async (t) => {
  await t.step(
    "3x3 upright sheet, one back per record, long-edge flip mirrors columns",
    async () => {
      await withTempDir(async (dir) => {
        const out = join(dir, "imposed.pdf");
        await using pieces = await PieceSource.open(
          await mergedOf(labels(23), CARD),
        );
        await using back = await PieceSource.open(
          await mergedOf(labels(23, "B"), CARD),
        );
        const result = await imposePdfFile(pieces, out, {
          grid: "3x3",
          sheet: "12x18in",
          back,
        });
        assert.equal(result.sheets, 3);
        assert.equal(result.pages, 6);
        const pages = await wordsOf(out);
        const unflip = unflipper(result, "x");
        for (let s = 0; s < 3; s++) {
          const front = cellLabels(pages[2 * s]!, result.layout);
          const rear = cellLabels(pages[2 * s + 1]!, result.layout, unflip);
          assert.deepEqual(front, cutStack(23, 9)[s]);
          assert.deepEqual(rear, front.map((l) => l?.replace("R", "B")));
          // Word by word: each back's centre, flipped, is its front's centre.
          for (
            const word of pages[2 * s + 1]!.words.filter((w) =>
              /^B\d{4}$/.test(w.text)
            )
          ) {
            const twin = pages[2 * s]!.words.find((w) =>
              w.text === word.text.replace("B", "R")
            )!;
            const p = unflip(word);
            assert.ok(
              Math.abs(p.x - twin.x) < 1 && Math.abs(p.y - twin.y) < 1,
              word.text,
            );
          }
        }
        const text = await tool("pdftotext", "-f", "2", "-l", "2", out, "-");
        assert.match(text, /sheet 1 of 3 · back · records 1, 4, 7/);
        await qpdfCheck(out);
      });
    },
  );
  await t.step(
    "2x2 turned sheet, one back for every record, long-edge flip mirrors rows",
    async () => {
      const back = await PieceSource.open(await mergedOf(["B0000"], POSTCARD));
      const { pdf, result } = await imposePdf(
        await PieceSource.open(await mergedOf(labels(10), POSTCARD)),
        { grid: "2x2", sheet: "12x18in", back },
      );
      assert.equal(result.layout.turned, true);
      await withTempDir(async (dir) => {
        const out = join(dir, "imposed.pdf");
        await Deno.writeFile(out, pdf);
        const pages = await wordsOf(out);
        assert.equal(pages.length, 6);
        const unflip = unflipper(result, "y");
        for (let s = 0; s < 3; s++) {
          const front = cellLabels(pages[2 * s]!, result.layout);
          const rear = cellLabels(pages[2 * s + 1]!, result.layout, unflip);
          assert.deepEqual(rear, front.map((l) => l && "B0000"));
        }
        // The shared back is stored once: every back cell draws one form.
        const doc = await PDFDocument.load(pdf);
        const forms = new Set<string>();
        for (const i of [1, 3, 5]) {
          const xobjects = doc.getPage(i).node.Resources()!.lookup(
            PDFName.of("XObject"),
            PDFDict,
          );
          for (const [, ref] of xobjects.entries()) forms.add(String(ref));
        }
        assert.equal(forms.size, 1);
        await qpdfCheck(out);
      });
    },
  );
  await t.step("short-edge flip on an upright sheet mirrors rows", async () => {
    const back = await PieceSource.open(await mergedOf(labels(5, "B"), CARD));
    const { pdf, result } = await imposePdf(
      await PieceSource.open(await mergedOf(labels(5), CARD)),
      {
        grid: "3x3",
        sheet: "12x18in",
        back,
        flip: "short-edge",
        order: "step-repeat",
      },
    );
    await withTempDir(async (dir) => {
      const out = join(dir, "imposed.pdf");
      await Deno.writeFile(out, pdf);
      const [front, rear] = await wordsOf(out);
      assert.deepEqual(
        cellLabels(rear!, result.layout, unflipper(result, "y")),
        cellLabels(front!, result.layout).map((l) => l?.replace("R", "B")),
      );
    });
  });
});

Deno.test("imposePdfFile() clips each piece to its bleed box", async () => {
  await withTempDir(async (dir) => {
    // Each piece paints a red band 30 pt past its right edge.
    const merged = await mergedOf(labels(4), CARD, { overdraw: true });
    const out = join(dir, "imposed.pdf");
    const result = await imposePdfFile(await PieceSource.open(merged), out, {
      grid: "2x2",
      sheet: "Letter",
      gutterPt: 36,
    });
    await tool(
      "pdftoppm",
      "-r",
      "72",
      "-png",
      "-singlefile",
      out,
      join(dir, "sheet"),
    );
    const png = PNG.sync.read(
      Buffer.from(await Deno.readFile(join(dir, "sheet.png"))),
    );
    const { heightPt } = result.layout;
    const pixel = (x: number, y: number) => {
      const i = (Math.floor(heightPt - y) * png.width + Math.floor(x)) * 4;
      return [...png.data.subarray(i, i + 3)];
    };
    for (const cell of result.layout.cells) {
      const right = cell.x + cell.width, mid = cell.y + cell.height / 2;
      // Inside the bleed: the band (it starts 20 pt in from the media edge).
      assert.deepEqual(pixel(right + CARD.bleedPt - 3, mid), [255, 0, 0]);
      // Past the bleed box: paper.
      assert.deepEqual(pixel(right + CARD.bleedPt + 3, mid), [255, 255, 255]);
    }
  });
});

Deno.test("imposePdfFile() leaves the cell of a missing piece blank", async () => {
  await withTempDir(async (dir) => {
    const paths: (string | undefined)[] = await writePieces(
      dir,
      await piecesOf(labels(6), CARD),
    );
    paths[2] = undefined;
    const out = join(dir, "imposed.pdf");
    const result = await imposePdfFile(PieceSource.files(paths), out, {
      grid: "3x3",
      sheet: "12x18in",
      order: "step-repeat",
    });
    const [page] = await wordsOf(out);
    assert.deepEqual(cellLabels(page!, result.layout), [
      "R0001",
      "R0002",
      undefined,
      "R0004",
      "R0005",
      "R0006",
      undefined,
      undefined,
      undefined,
    ]);
  });
});

Deno.test("imposePdfFile() writes nothing for bad input, naming the option", async (t) => {
  await withTempDir(async (dir) => {
    const merged = join(dir, "merged.pdf");
    await Deno.writeFile(merged, await mergedOf(labels(10), CARD));
    const out = join(dir, "imposed.pdf");
    const fails = async (
      options: Parameters<typeof imposePdfFile>[2],
      check: (e: Error) => void,
    ) => {
      await using pieces = await PieceSource.open(merged);
      await assert.rejects(
        () => imposePdfFile(pieces, out, options),
        (e: Error) => {
          check(e);
          return true;
        },
      );
      assert.deepEqual(await listDir(dir), ["merged.pdf"]);
    };
    await t.step("an impossible grid", async () => {
      await fails({ grid: "4x9", sheet: "12x18in" }, (e) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, /^--impose 4x9 does not fit --sheet 12x18in/);
      });
    });
    await t.step("a back of another size", async () => {
      await using back = await PieceSource.open(
        await mergedOf(["B0000"], POSTCARD),
        "back.pdf",
      );
      await fails({ grid: "2x2", sheet: "Letter", back }, (e) => {
        assert.ok(e instanceof UsageError);
        assert.match(
          e.message,
          /^--duplex back\.pdf page 1 does not match the pieces: its trim is 432×288 pt \(6×4 in\), the pieces' is 252×144 pt \(3\.5×2 in\)/,
        );
      });
    });
    await t.step("a back with neither 1 page nor one per record", async () => {
      await using back = await PieceSource.open(
        await mergedOf(labels(3, "B"), CARD),
        "back.pdf",
      );
      await fails({ grid: "2x2", sheet: "Letter", back }, (e) => {
        assert.ok(e instanceof UsageError);
        assert.equal(
          e.message,
          "--duplex back.pdf has 3 pages: give 1 (the same back for every record) or 10 (one per record)",
        );
      });
    });
    await t.step("a piece of another size, found mid-way", async () => {
      await Deno.mkdir(join(dir, "pieces"));
      const paths = await writePieces(join(dir, "pieces"), [
        ...(await piecesOf(labels(5), CARD)),
        ...(await piecesOf(["R0006"], POSTCARD)),
      ]);
      await assert.rejects(
        () =>
          imposePdfFile(PieceSource.files(paths), out, {
            grid: "2x2",
            sheet: "Letter",
            order: "step-repeat",
          }),
        (e: Error) =>
          e instanceof InputError &&
          /^Cannot impose 0006\.pdf: its trim is 432×288 pt/.test(
            e.message,
          ),
      );
      assert.deepEqual(await listDir(dir), ["merged.pdf", "pieces"]);
      await Deno.remove(join(dir, "pieces"), { recursive: true });
    });
    await t.step("a file that is no PDF", async () => {
      await assert.rejects(
        () => PieceSource.open(new TextEncoder().encode("hello"), "notes.txt"),
        (e: Error) =>
          e instanceof InputError &&
          e.message === "Cannot read notes.txt: it is not a PDF file",
      );
    });
  });
});

Deno.test("PieceSource.open() reads a PDF with object streams too", async () => {
  const chunk = await chunkOf(labels(5), CARD);
  const doc = await PDFDocument.load(chunk);
  for (const page of doc.getPages()) {
    page.setTrimBox(9, 9, 252, 144);
  }
  const packed = await doc.save({ useObjectStreams: true });
  await using pieces = await PieceSource.open(packed);
  assert.equal(pieces.count, 5);
  const { pdf, result } = await imposePdf(pieces, {
    grid: "3x3",
    sheet: "12x18in",
  });
  await withTempDir(async (dir) => {
    const out = join(dir, "imposed.pdf");
    await Deno.writeFile(out, pdf);
    const [page] = await wordsOf(out);
    assert.deepEqual(cellLabels(page!, result.layout), cutStack(5, 9)[0]);
    await qpdfCheck(out);
  });
});

Deno.test("imposePdfFile() names the given record numbers and stops when aborted, writing nothing", async () => {
  await withTempDir(async (dir) => {
    const merged = await mergedOf(labels(4), CARD);
    const out = join(dir, "imposed.pdf");
    await using pieces = await PieceSource.open(merged);
    await imposePdfFile(pieces, out, {
      grid: "2x2",
      sheet: "Letter",
      title: "Cards",
      records: [3, 5, 8, 13],
    });
    const text = await tool("pdftotext", out, "-");
    assert.match(text, /Cards · sheet 1 of 1 · records 3, 5, 8, 13/);
    await Deno.remove(out);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      () =>
        imposePdfFile(pieces, out, {
          grid: "2x2",
          sheet: "Letter",
          signal: controller.signal,
        }),
      (e: Error) => e.name === "AbortError",
    );
    assert.deepEqual(await listDir(dir), []);
  });
});
