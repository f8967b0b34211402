import { parseCsv } from "../static/app.js";
import { scanCsv, readCsv } from "../batch/csv.ts";
const dir = "/work/shared/fixtures";
const files = [...Deno.readDirSync(dir)].filter((f) => f.name.endsWith(".csv")).map((f) => `${dir}/${f.name}`);
const cases: Record<string, string> = {
  "crlf-quoted-newline": 'a,b\r\n1,"x\r\ny"\r\n2,z\r\n',
  "bom-tab": "\ufeffa\tb\n1\t2\n",
  "blank-lines": "a,b\n\n1,2\n\n\n3,4",
  "doubled-quotes": 'a,b\n"he said ""hi""",2\n',
  "ragged": "a,b\n1,2\n3\n",
  "bad-close": 'a,b\n"x"y,2\n',
  "quote-inside": 'a,b\nx"y,2\n',
  "unclosed": 'a,b\n1,2\n"open,3\n4,5\n',
  "dup-header": "a,b,a\n1,2,3\n",
  "empty-header": "a,,c\n1,2,3\n",
  "empty": "",
  "header-only": "a,b\n",
  "trailing-delim": "a,b,\n1,2,\n",
  "multiline-then-ragged": 'a,b\n1,"x\ny\nz"\n2\n',
};
for (const [name, text] of Object.entries(cases)) {
  const path = `/tmp/ui-mock/case-${name}.csv`;
  Deno.writeTextFileSync(path, text);
  files.push(path);
}
for (const path of files) {
  let mine: string, theirs: string;
  try { const r = parseCsv(Deno.readTextFileSync(path), 1e9); mine = `ok ${r.count} rows [${r.headers.join("|")}] ${JSON.stringify(r.delimiter)}`; } catch (e) { mine = `ERR ${(e as Error).message}`; }
  try { const r = await scanCsv(path); theirs = `ok ${r.count} rows [${r.headers.join("|")}] ${JSON.stringify(r.delimiter)}`; } catch (e) { theirs = `ERR ${(e as Error).message}`; }
  const lineMine = mine.match(/Line (\d+)/)?.[1], lineTheirs = theirs.match(/line (\d+)/)?.[1];
  const same = mine.startsWith("ok") ? mine === theirs : theirs.startsWith("ERR") && lineMine === lineTheirs;
  console.log(same ? "SAME" : "DIFF", path.split("/").pop(), "\n   browser:", mine, "\n   server: ", theirs);
}
// values identical for the tricky fixtures
for (const path of files.filter((p) => p.includes("tricky"))) {
  const r = parseCsv(Deno.readTextFileSync(path), 1e9);
  let i = 0, diff = 0;
  for await (const rec of readCsv(path)) { const row = r.rows[i++]; if (JSON.stringify(r.headers.map((h, k) => [h, row[k]])) !== JSON.stringify(Object.entries(rec.values))) diff++; }
  console.log("values", path.split("/").pop(), diff === 0 ? "identical" : `${diff} differ`);
}
