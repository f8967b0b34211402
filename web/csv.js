// The in-browser CSV reader: parses the recipient file as the server will,
// so problems show before upload, and checks its columns against a design.

const PREVIEW_ROWS = 5;

/**
 * Picks the delimiter from the header line: the most frequent of , ; TAB
 * outside quotes, comma on a tie (as the server does).
 * @param {string} text the file's text
 * @returns {string} the delimiter
 */
export function detectDelimiter(text) {
  const counts = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  for (const char of text.slice(0, 65536)) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === "\n" || char === "\r")) break;
    else if (!quoted && char in counts) counts[char]++;
  }
  const [first, second] = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return first[1] > second[1] ? first[0] : ",";
}

/**
 * Parses CSV text (RFC 4180 quotes with line breaks inside, BOM, CRLF or LF,
 * blank lines skipped) and checks every row, as the server will.
 * @param {string} text the whole file
 * @param {number} [keep] how many data rows to return
 * @returns {{ headers: string[], rows: string[][], count: number, delimiter: string }}
 * @throws {SyntaxError} "Line 7: …" in plain words
 */
export function parseCsv(text, keep = PREVIEW_ROWS) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delimiter = detectDelimiter(text);
  const isEnd = (c) => c === "\n" || c === "\r";
  let [headers, rows, count, i, line] = [null, [], 0, 0, 1];
  while (i < text.length) {
    if (isEnd(text[i])) { // a blank line
      i += text.startsWith("\r\n", i) ? 2 : 1;
      line++;
      continue;
    }
    const start = line;
    const fail = (detail) => new SyntaxError(`Line ${start}: ${detail}`);
    const fields = [];
    for (let more = true; more;) {
      const col = `column ${fields.length + 1}`;
      let value = "";
      if (text[i] === '"') {
        for (i++;; i++) { // i is past an opening or a doubled quote
          const q = text.indexOf('"', i);
          if (q < 0) throw fail(`a quote (") in ${col} is never closed`);
          value += text.slice(i, q);
          line += text.slice(i, q).match(/\r\n|\r|\n/g)?.length ?? 0;
          i = q + 1;
          if (text[i] !== '"') break;
          value += '"';
        }
        if (i < text.length && !isEnd(text[i]) && text[i] !== delimiter) {
          throw fail(`${col} has more text after its closing quote`);
        }
      } else {
        const j = i;
        while (i < text.length && text[i] !== delimiter && !isEnd(text[i])) {
          if (text[i++] === '"') {
            throw fail(
              `${col} has a quote (") inside a value that is not quoted`,
            );
          }
        }
        value = text.slice(j, i);
      }
      fields.push(value);
      more = text[i] === delimiter;
      i += more ? 1 : text.startsWith("\r\n", i) ? 2 : 1;
    }
    line++;
    if (!headers) {
      headers = fields.map((f) => f.trim());
      headers.forEach((name, k) => {
        const first = headers.indexOf(name);
        if (!name) throw fail(`column ${k + 1} has no name`);
        if (first < k) {
          throw fail(
            `columns ${first + 1} and ${k + 1} are both named "${name}"`,
          );
        }
      });
    } else if (fields.length !== headers.length) {
      const n = `${fields.length} value${fields.length === 1 ? "" : "s"}`;
      throw fail(`this row has ${n} but there are ${headers.length} columns`);
    } else if (++count <= keep) rows.push(fields);
  }
  if (!headers) throw new SyntaxError("The file is empty");
  return { headers, rows, count, delimiter };
}

/**
 * The design's fields that have no column in the file.
 * @param {string[]} fields the fields a design uses
 * @param {string[]} headers the file's column names
 * @returns {string[]} the missing ones, in the design's order
 */
export function missingFields(fields, headers) {
  return fields.filter((f) => !headers.includes(f));
}
