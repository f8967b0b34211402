// Types of the parts of qrcode's core that template/qr_size.ts uses (the
// package's own types cover only its public API).
declare const internals: {
  rawSplit(text: string): unknown[];
  fromString(text: string, version: number): unknown[];
  getBestVersionForData(segments: unknown[], ecl: unknown): number | undefined;
  L: unknown;
  M: unknown;
  Q: unknown;
  H: unknown;
};
export default internals;
