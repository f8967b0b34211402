/**
 * PDF functions (the colour ramps of shadings, the tint transforms of spot
 * colours): evaluating any of the four types, and writing a converted copy.
 * A stitching function (type 3: a gradient's stops) keeps its stops and
 * converts each segment, so a hard stop stays hard; any other function is
 * sampled into a type 0 (sampled) function of the converted colours.
 *
 * @module
 */
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFRawStream,
  PDFRef,
} from "pdf-lib";
import { deflateSync } from "node:zlib";
import type { PDFContext } from "pdf-lib";
import {
  FunctionError,
  parsePostScript,
  runPostScript,
} from "./_ps_calculator.ts";

export { FunctionError };

/** A function: inputs to outputs. */
export type Evaluate = (inputs: number[]) => number[];

/** Samples along each input of a converted function: 1 input, 2 inputs. */
const SAMPLES_1D = 256;
const SAMPLES_2D = 33;

function lookup(context: PDFContext, object: PDFObject | undefined) {
  return object instanceof PDFRef ? context.lookup(object) : object;
}

function numbers(
  context: PDFContext,
  object: PDFObject | undefined,
): number[] | undefined {
  const array = lookup(context, object);
  if (!(array instanceof PDFArray)) return undefined;
  return array.asArray().map((v) => {
    const n = lookup(context, v);
    return n instanceof PDFNumber ? n.asNumber() : NaN;
  });
}

function dictOf(object: PDFObject | undefined): PDFDict | undefined {
  if (object instanceof PDFRawStream) return object.dict;
  if (object instanceof PDFDict) return object;
  return undefined;
}

function get(dict: PDFDict, key: string): PDFObject | undefined {
  return dict.get(PDFName.of(key));
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * An evaluator for a function object (or an array of 1-output functions,
 * as a shading's /Function may be).
 *
 * @throws {FunctionError} If the function is malformed or of no known type.
 */
export function evaluator(
  context: PDFContext,
  object: PDFObject | undefined,
): Evaluate {
  const resolved = lookup(context, object);
  if (resolved instanceof PDFArray) {
    const parts = resolved.asArray().map((f) => evaluator(context, f));
    return (inputs) => parts.flatMap((f) => f(inputs).slice(0, 1));
  }
  const dict = dictOf(resolved);
  if (!dict) {
    throw new FunctionError("a function is not a dictionary or stream");
  }
  const type = lookup(context, get(dict, "FunctionType"));
  const domain = numbers(context, get(dict, "Domain"));
  if (!domain || domain.length < 2) {
    throw new FunctionError("a function has no /Domain");
  }
  const range = numbers(context, get(dict, "Range"));
  const m = domain.length / 2;
  const clipIn = (inputs: number[]) =>
    Array.from(
      { length: m },
      (_, i) => clip(inputs[i] ?? 0, domain[2 * i]!, domain[2 * i + 1]!),
    );
  const clipOut = (outputs: number[]) =>
    range
      ? outputs.map((v, i) =>
        i * 2 + 1 < range.length ? clip(v, range[2 * i]!, range[2 * i + 1]!) : v
      )
      : outputs;
  const kind = type instanceof PDFNumber ? type.asNumber() : -1;
  switch (kind) {
    case 0: {
      const sampled = sampledFunction(
        context,
        resolved as PDFRawStream,
        domain,
      );
      return (inputs) => clipOut(sampled(clipIn(inputs)));
    }
    case 2: {
      const c0 = numbers(context, get(dict, "C0")) ?? [0];
      const c1 = numbers(context, get(dict, "C1")) ?? [1];
      const exponent = lookup(context, get(dict, "N"));
      const e = exponent instanceof PDFNumber ? exponent.asNumber() : 1;
      return (inputs) => {
        const x = clipIn(inputs)[0]!;
        const t = e === 1 ? x : Math.pow(x, e);
        return clipOut(c0.map((v, i) => v + t * ((c1[i] ?? v) - v)));
      };
    }
    case 3: {
      const functions = lookup(context, get(dict, "Functions"));
      if (!(functions instanceof PDFArray)) {
        throw new FunctionError("a stitching function has no /Functions");
      }
      const parts = functions.asArray().map((f) => evaluator(context, f));
      const bounds = numbers(context, get(dict, "Bounds")) ?? [];
      const encode = numbers(context, get(dict, "Encode")) ?? [];
      return (inputs) => {
        const x = clipIn(inputs)[0]!;
        let k = 0;
        while (k < bounds.length && x >= bounds[k]!) k++;
        const lo = k === 0 ? domain[0]! : bounds[k - 1]!;
        const hi = k === bounds.length ? domain[1]! : bounds[k]!;
        const e0 = encode[2 * k] ?? 0, e1 = encode[2 * k + 1] ?? 1;
        const t = hi === lo ? e0 : e0 + (x - lo) * (e1 - e0) / (hi - lo);
        return clipOut(parts[k]!([t]));
      };
    }
    case 4: {
      if (!(resolved instanceof PDFRawStream)) {
        throw new FunctionError("a PostScript function is not a stream");
      }
      const code = new TextDecoder("latin1").decode(
        decodePDFRawStream(resolved).decode(),
      );
      const program = parsePostScript(code);
      const outputs = range ? range.length / 2 : undefined;
      return (inputs) => {
        const stack = clipIn(inputs);
        runPostScript(program, stack);
        return clipOut(outputs ? stack.slice(-outputs) : stack);
      };
    }
    default:
      throw new FunctionError(`a function has an unknown type ${kind}`);
  }
}

/** A type 0 function: samples, multilinear interpolation. */
function sampledFunction(
  context: PDFContext,
  stream: PDFRawStream,
  domain: number[],
): Evaluate {
  const dict = stream.dict;
  const size = numbers(context, get(dict, "Size"));
  const bps = lookup(context, get(dict, "BitsPerSample"));
  const range = numbers(context, get(dict, "Range"));
  if (!size || !(bps instanceof PDFNumber) || !range) {
    throw new FunctionError(
      "a sampled function lacks /Size, /BitsPerSample or /Range",
    );
  }
  const m = size.length;
  const n = range.length / 2;
  const bits = bps.asNumber();
  const encode = numbers(context, get(dict, "Encode")) ??
    size.flatMap((s) => [0, s - 1]);
  const decode = numbers(context, get(dict, "Decode")) ?? range;
  const data = decodePDFRawStream(stream).decode();
  const max = Math.pow(2, bits) - 1;
  const sample = (index: number, j: number): number => {
    const bit = (index * n + j) * bits;
    let v = 0;
    if (bits % 8 === 0) {
      const at = bit / 8;
      for (let b = 0; b < bits / 8; b++) v = v * 256 + (data[at + b] ?? 0);
    } else {
      for (let b = 0; b < bits; b++) {
        const pos = bit + b;
        v = v * 2 + (((data[pos >> 3] ?? 0) >> (7 - (pos & 7))) & 1);
      }
    }
    return decode[2 * j]! + v * (decode[2 * j + 1]! - decode[2 * j]!) / max;
  };
  return (inputs) => {
    // Position along each input, in sample units.
    const cell: number[] = [];
    const frac: number[] = [];
    for (let i = 0; i < m; i++) {
      const d0 = domain[2 * i]!, d1 = domain[2 * i + 1]!;
      const e = encode[2 * i]! + (inputs[i]! - d0) *
          (encode[2 * i + 1]! - encode[2 * i]!) / (d1 === d0 ? 1 : d1 - d0);
      const x = clip(e, 0, size[i]! - 1);
      const c = Math.min(Math.floor(x), Math.max(0, size[i]! - 2));
      cell.push(c);
      frac.push(size[i]! > 1 ? x - c : 0);
    }
    const out = new Array<number>(n).fill(0);
    for (let corner = 0; corner < 1 << m; corner++) {
      let weight = 1;
      let index = 0;
      let stride = 1;
      for (let i = 0; i < m; i++) {
        const up = (corner >> i) & 1;
        weight *= up ? frac[i]! : 1 - frac[i]!;
        index += (cell[i]! + up) * stride;
        stride *= size[i]!;
      }
      if (weight === 0) continue;
      for (let j = 0; j < n; j++) out[j]! += weight * sample(index, j);
    }
    return out;
  };
}

/**
 * Writes a function of the same inputs whose outputs are `convert` of the
 * original's: a stitching function keeps its stops and gets its segments
 * converted; anything else becomes a sampled function (256 samples along one
 * input, 33×33 over two). `outputs` is how many values `convert` returns.
 *
 * @throws {FunctionError} If the function cannot be read, or has more than
 * two inputs.
 */
export function convertFunction(
  context: PDFContext,
  object: PDFObject,
  convert: (values: number[]) => number[],
  outputs: number,
): PDFObject {
  const resolved = lookup(context, object);
  const dict = dictOf(resolved);
  if (dict && !(resolved instanceof PDFArray)) {
    const type = lookup(context, get(dict, "FunctionType"));
    if (type instanceof PDFNumber && type.asNumber() === 3) {
      const functions = lookup(context, get(dict, "Functions"));
      if (functions instanceof PDFArray) {
        const copy = PDFDict.withContext(context);
        for (const [key, value] of dict.entries()) copy.set(key, value);
        copy.set(
          PDFName.of("Functions"),
          context.obj(
            functions.asArray().map((f) =>
              convertFunction(context, f, convert, outputs)
            ),
          ),
        );
        copy.delete(PDFName.of("Range"));
        return context.register(copy);
      }
    }
  }
  const evaluate = evaluator(context, object);
  const domainSource = resolved instanceof PDFArray
    ? dictOf(lookup(context, resolved.get(0)))
    : dict;
  const domain = domainSource
    ? numbers(context, get(domainSource, "Domain"))
    : undefined;
  if (!domain) throw new FunctionError("a function has no /Domain");
  const m = domain.length / 2;
  if (m > 2) {
    throw new FunctionError(`a function of ${m} inputs cannot be converted`);
  }
  const counts = m === 1 ? [SAMPLES_1D] : [SAMPLES_2D, SAMPLES_2D];
  const total = counts.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(total * outputs * 2);
  const view = new DataView(data.buffer);
  for (let index = 0; index < total; index++) {
    const inputs: number[] = [];
    let rest = index;
    for (let i = 0; i < m; i++) {
      const k = rest % counts[i]!;
      rest = Math.floor(rest / counts[i]!);
      const d0 = domain[2 * i]!, d1 = domain[2 * i + 1]!;
      inputs.push(d0 + (d1 - d0) * k / (counts[i]! - 1));
    }
    const values = convert(evaluate(inputs));
    for (let j = 0; j < outputs; j++) {
      view.setUint16(
        (index * outputs + j) * 2,
        Math.round(clip(values[j] ?? 0, 0, 1) * 65535),
      );
    }
  }
  const fn = context.obj({
    FunctionType: 0,
    Domain: domain,
    Range: Array.from({ length: outputs }, () => [0, 1]).flat(),
    Size: counts,
    BitsPerSample: 16,
    Filter: "FlateDecode",
  });
  return context.register(PDFRawStream.of(fn, deflateSync(data)));
}
