/**
 * The PostScript calculator of type 4 functions (ISO 32000-1, 7.10.5): a
 * parser and an interpreter of its operators (arithmetic, relational,
 * boolean and bitwise, stack, if and ifelse).
 *
 * @module
 */
/** Why a function cannot be read. */
export class FunctionError extends Error {
  override name = "FunctionError";
}

/** A token of a calculator program: a number, a boolean, an operator, a procedure. */
export type Token = number | boolean | string | Token[];

/** The program of `{ … }`, as nested token arrays. */
export function parsePostScript(code: string): Token[] {
  const tokens = code.match(/[{}]|[^\s{}]+/g) ?? [];
  let at = 0;
  const block = (): Token[] => {
    const out: Token[] = [];
    while (at < tokens.length) {
      const t = tokens[at++]!;
      if (t === "{") out.push(block());
      else if (t === "}") return out;
      else if (t === "true" || t === "false") out.push(t === "true");
      else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
        out.push(Number(t));
      } else out.push(t);
    }
    return out;
  };
  // The program is one outer { … }.
  if (tokens[at] === "{") at++;
  return block();
}

/** Runs `program` on `stack` (the function's inputs), leaving its outputs there. */
export function runPostScript(
  program: Token[],
  stack: (number | boolean)[],
): void {
  const num = () => {
    const v = stack.pop();
    return typeof v === "boolean" ? (v ? 1 : 0) : (v ?? 0);
  };
  const bool = () => {
    const v = stack.pop();
    return typeof v === "boolean" ? v : v !== 0;
  };
  for (let i = 0; i < program.length; i++) {
    const t = program[i]!;
    if (typeof t === "number" || typeof t === "boolean") {
      stack.push(t);
      continue;
    }
    if (Array.isArray(t)) {
      // Procedures come before if / ifelse: {a} if, {a} {b} ifelse.
      const next = program[i + 1];
      if (next === "if") {
        if (bool()) runPostScript(t, stack);
        i++;
      } else if (Array.isArray(next) && program[i + 2] === "ifelse") {
        if (bool()) runPostScript(t, stack);
        else runPostScript(next, stack);
        i += 2;
      }
      continue;
    }
    switch (t) {
      case "add": {
        const b = num(), a = num();
        stack.push(a + b);
        break;
      }
      case "sub": {
        const b = num(), a = num();
        stack.push(a - b);
        break;
      }
      case "mul": {
        const b = num(), a = num();
        stack.push(a * b);
        break;
      }
      case "div": {
        const b = num(), a = num();
        stack.push(b === 0 ? 0 : a / b);
        break;
      }
      case "idiv": {
        const b = num(), a = num();
        stack.push(b === 0 ? 0 : Math.trunc(a / b));
        break;
      }
      case "mod": {
        const b = num(), a = num();
        stack.push(b === 0 ? 0 : a % b);
        break;
      }
      case "neg":
        stack.push(-num());
        break;
      case "abs":
        stack.push(Math.abs(num()));
        break;
      case "ceiling":
        stack.push(Math.ceil(num()));
        break;
      case "floor":
        stack.push(Math.floor(num()));
        break;
      case "round":
        stack.push(Math.round(num()));
        break;
      case "truncate":
        stack.push(Math.trunc(num()));
        break;
      case "cvi":
        stack.push(Math.trunc(num()));
        break;
      case "cvr":
        stack.push(num());
        break;
      case "sqrt":
        stack.push(Math.sqrt(Math.max(0, num())));
        break;
      case "sin":
        stack.push(Math.sin(num() * Math.PI / 180));
        break;
      case "cos":
        stack.push(Math.cos(num() * Math.PI / 180));
        break;
      case "atan": {
        const b = num(), a = num();
        let deg = Math.atan2(a, b) * 180 / Math.PI;
        if (deg < 0) deg += 360;
        stack.push(deg);
        break;
      }
      case "exp": {
        const b = num(), a = num();
        stack.push(Math.pow(a, b));
        break;
      }
      case "ln":
        stack.push(Math.log(num()));
        break;
      case "log":
        stack.push(Math.log10(num()));
        break;
      case "eq": {
        const b = stack.pop(), a = stack.pop();
        stack.push(a === b);
        break;
      }
      case "ne": {
        const b = stack.pop(), a = stack.pop();
        stack.push(a !== b);
        break;
      }
      case "gt": {
        const b = num(), a = num();
        stack.push(a > b);
        break;
      }
      case "ge": {
        const b = num(), a = num();
        stack.push(a >= b);
        break;
      }
      case "lt": {
        const b = num(), a = num();
        stack.push(a < b);
        break;
      }
      case "le": {
        const b = num(), a = num();
        stack.push(a <= b);
        break;
      }
      case "and": {
        const b = stack.pop(), a = stack.pop();
        stack.push(typeof a === "boolean" ? a && !!b : (Number(a) & Number(b)));
        break;
      }
      case "or": {
        const b = stack.pop(), a = stack.pop();
        stack.push(typeof a === "boolean" ? a || !!b : (Number(a) | Number(b)));
        break;
      }
      case "xor": {
        const b = stack.pop(), a = stack.pop();
        stack.push(
          typeof a === "boolean" ? a !== !!b : (Number(a) ^ Number(b)),
        );
        break;
      }
      case "not": {
        const a = stack.pop();
        stack.push(typeof a === "boolean" ? !a : ~Number(a));
        break;
      }
      case "bitshift": {
        const s = num(), a = num();
        stack.push(s >= 0 ? a << s : a >> -s);
        break;
      }
      case "true":
        stack.push(true);
        break;
      case "false":
        stack.push(false);
        break;
      case "pop":
        stack.pop();
        break;
      case "dup":
        stack.push(stack.at(-1) ?? 0);
        break;
      case "exch": {
        const b = stack.pop()!, a = stack.pop()!;
        stack.push(b, a);
        break;
      }
      case "copy": {
        const k = num();
        stack.push(...stack.slice(stack.length - k));
        break;
      }
      case "index": {
        const k = num();
        stack.push(stack[stack.length - 1 - k] ?? 0);
        break;
      }
      case "roll": {
        const j = num(), k = num();
        if (k > 0 && k <= stack.length) {
          const part = stack.splice(stack.length - k, k);
          const shift = ((j % k) + k) % k;
          stack.push(...part.slice(k - shift), ...part.slice(0, k - shift));
        }
        break;
      }
      default:
        throw new FunctionError(`a PostScript function uses '${t}'`);
    }
  }
}
