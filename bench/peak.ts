// The machine's wasm f32x4 arithmetic peak, measured rather than looked up: tiny modules assembled
// here from bytes (no compiler in the loop, so nothing can fold or spill what we ask for), whose one
// function runs many independent vector chains in registers, with no memory traffic at all.
// A kernel's GFLOP/s divided by this peak says how much of the machine it leaves on the table.

/** One measured form of peak arithmetic. */
export interface PeakResult {
  /** 'mul+add' (SIMD128: separate f32x4.mul and f32x4.add) or 'relaxed_madd' (fused, relaxed SIMD). */
  form: PeakForm;
  /** How the chains were laid out (the best layout is the peak). */
  layout: string;
  /** Best GFLOP/s over the repeats (flops: 4 per f32x4.mul or f32x4.add, 8 per relaxed_madd). */
  gflops: number;
  /** Median GFLOP/s over the repeats. */
  medianGflops: number;
  repeats: number;
  /** Every layout tried: best GFLOP/s of each. */
  layouts: Record<string, number>;
}

export type PeakForm = 'mul+add' | 'relaxed_madd';

/** Why a form was not measured (the runtime refused its module). */
export interface PeakSkipped {
  form: PeakForm;
  skipped: string;
}

// ---- a minimal wasm assembler: just the opcodes these loops need ----

const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Const: 0x41, f32Const: 0x43, i32Sub: 0x6b, f32Add: 0x92,
  void: 0x40, i32: 0x7f, f32: 0x7d, v128: 0x7b, func: 0x60,
} as const;
// SIMD opcodes follow the 0xfd prefix as unsigned LEB128.
const SIMD = { f32x4Splat: 0x13, f32x4ExtractLane: 0x1f, f32x4Add: 0xe4, f32x4Mul: 0xe6, f32x4RelaxedMadd: 0x105 } as const;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function simd(op: number): number[] {
  return [0xfd, ...leb(op)];
}

function f32Bytes(v: number): number[] {
  return [...new Uint8Array(new Float32Array([v]).buffer)];
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function vector(items: number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...leb(bytes.length), ...bytes];
}

/** One exported function of type (iterations: i32, a: f32, b: f32) -> f32. */
interface PeakFunction {
  name: string;
  /** v128 locals the body uses beyond the three parameters. */
  v128Locals: number;
  body: number[];
}

function assemble(functions: PeakFunction[]): Uint8Array<ArrayBuffer> {
  const type = [OP.func, ...vector([[OP.i32], [OP.f32], [OP.f32]]), ...vector([[OP.f32]])];
  const code = functions.map((f) => {
    const locals = vector([[...leb(f.v128Locals), OP.v128]]);
    const body = [...locals, ...f.body, OP.end];
    return [...leb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([type])),
    ...section(3, vector(functions.map(() => [0]))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...leb(i)]))),
    ...section(10, vector(code)),
  ]);
}

// ---- the loops ----

/** Parameters are locals 0 (iterations), 1 (a), 2 (b); splats of a and b live in locals 3 and 4. */
const ITER = 0, A = 1, B = 2, VA = 3, VB = 4, FIRST_CHAIN = 5;
/** Chain bodies per loop trip, so the counter and branch cost little. */
const UNROLL = 4;

/**
 * A loop over `chains` register-resident f32x4 accumulators; `step(i)` updates chain i once.
 * Each chain starts from a different constant so no engine can merge two identical chains.
 * Returns the sum of lane 0 of every chain so no chain is dead code.
 */
function chainLoop(fname: string, chains: number, step: (local: number) => number[]): PeakFunction {
  const get = (i: number) => [OP.localGet, ...leb(i)];
  const set = (i: number) => [OP.localSet, ...leb(i)];
  const body: number[] = [
    ...get(A), ...simd(SIMD.f32x4Splat), ...set(VA),
    ...get(B), ...simd(SIMD.f32x4Splat), ...set(VB),
  ];
  for (let c = 0; c < chains; c++) body.push(OP.f32Const, ...f32Bytes(1 + c / 64), ...simd(SIMD.f32x4Splat), ...set(FIRST_CHAIN + c));
  body.push(OP.block, OP.void, OP.loop, OP.void);
  for (let u = 0; u < UNROLL; u++) for (let c = 0; c < chains; c++) body.push(...step(FIRST_CHAIN + c));
  body.push(...get(ITER), OP.i32Const, 1, OP.i32Sub, OP.localTee, ...leb(ITER), OP.brIf, 0, OP.end, OP.end);
  body.push(OP.f32Const, ...f32Bytes(0));
  for (let c = 0; c < chains; c++) body.push(...get(FIRST_CHAIN + c), ...simd(SIMD.f32x4ExtractLane), 0, OP.f32Add);
  return { name: fname, v128Locals: 2 + chains, body };
}

/** acc = acc * a + b: one mul and one add per step, the add depending on the mul (latency mul + add). */
function mulAddChains(chains: number): PeakFunction {
  return chainLoop(`muladd${chains}`, chains, (l) => [
    OP.localGet, ...leb(l), OP.localGet, VA, ...simd(SIMD.f32x4Mul), OP.localGet, VB, ...simd(SIMD.f32x4Add), OP.localSet, ...leb(l),
  ]);
}

/**
 * Half the chains multiply (acc *= a), half add (acc += b): the same instruction mix as the product
 * kernel's independent mul and add, each chain only one operation deep.
 */
function splitChains(chains: number): PeakFunction {
  return chainLoop(`split${chains}`, chains, (l) => {
    const op = (l - FIRST_CHAIN) % 2 === 0 ? SIMD.f32x4Mul : SIMD.f32x4Add;
    const operand = op === SIMD.f32x4Mul ? VA : VB;
    return [OP.localGet, ...leb(l), OP.localGet, operand, ...simd(op), OP.localSet, ...leb(l)];
  });
}

/** acc = relaxed_madd(acc, a, b): one fused multiply-add per step where the hardware has FMA. */
function maddChains(chains: number): PeakFunction {
  return chainLoop(`madd${chains}`, chains, (l) => [
    OP.localGet, ...leb(l), OP.localGet, VA, OP.localGet, VB, ...simd(SIMD.f32x4RelaxedMadd), OP.localSet, ...leb(l),
  ]);
}

/** A layout to measure: its function and the flops one loop trip does. */
interface Layout {
  fn: PeakFunction;
  flopsPerTrip: number;
}

// x64 has 16 xmm registers for wasm; a, b and a scratch leave room for up to 12 or so chains.
const SIMD_LAYOUTS: Layout[] = [
  ...[8, 10, 12].map((k) => ({ fn: mulAddChains(k), flopsPerTrip: UNROLL * k * 8 })),
  ...[8, 12].map((k) => ({ fn: splitChains(k), flopsPerTrip: UNROLL * k * 4 })),
];
const RELAXED_LAYOUTS: Layout[] = [8, 10, 12].map((k) => ({ fn: maddChains(k), flopsPerTrip: UNROLL * k * 8 }));

type PeakFn = (iterations: number, a: number, b: number) => number;

/** Best and median GFLOP/s of one layout over `repeats` timed calls of about `targetMs` each. */
async function timeLayout(fn: PeakFn, flopsPerTrip: number, repeats: number, targetMs: number) {
  // Warm up: the first calls run baseline (Liftoff) code; the optimised tier is ready a little later.
  for (let i = 0; i < 5; i++) {
    fn(200_000, 1, 1e-7);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Size the trip count so one call takes about targetMs.
  let trips = 100_000;
  const t0 = performance.now();
  fn(trips, 1, 1e-7);
  const probeMs = Math.max(performance.now() - t0, 0.01);
  trips = Math.max(1, Math.round((trips * targetMs) / probeMs));
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    // a = 1 (passed in, so no compiler can drop the multiply) keeps the values from drifting
    sink += fn(trips, 1, 1e-7);
    const seconds = (performance.now() - start) / 1000;
    rates.push((trips * flopsPerTrip) / seconds / 1e9);
  }
  if (!Number.isFinite(sink)) throw new Error('peak loop produced a non-finite value');
  rates.sort((x, y) => x - y);
  return { best: rates[rates.length - 1], median: rates[Math.floor(rates.length / 2)] };
}

/** Measures one form: every layout, keeping the best (the peak is what the machine can reach). */
async function measureForm(form: PeakForm, layouts: Layout[], repeats: number, targetMs: number): Promise<PeakResult | PeakSkipped> {
  const bytes = assemble(layouts.map((l) => l.fn));
  if (!WebAssembly.validate(bytes)) {
    return { form, skipped: form === 'relaxed_madd'
      ? 'this runtime does not validate relaxed SIMD (Node 20: run with --experimental-wasm-relaxed-simd)'
      : 'this runtime does not validate SIMD128' };
  }
  const { instance } = await WebAssembly.instantiate(bytes);
  let best: PeakResult | undefined;
  const tried: Record<string, number> = {};
  for (const layout of layouts) {
    const fn = instance.exports[layout.fn.name] as PeakFn;
    const { best: gflops, median } = await timeLayout(fn, layout.flopsPerTrip, repeats, targetMs);
    tried[layout.fn.name] = Number(gflops.toFixed(2));
    if (!best || gflops > best.gflops) best = { form, layout: layout.fn.name, gflops, medianGflops: median, repeats, layouts: tried };
  }
  return best!;
}

/** Both forms: SIMD128 mul+add always, relaxed_madd where the runtime validates it. */
export async function measurePeaks(repeats = 15, targetMs = 40): Promise<(PeakResult | PeakSkipped)[]> {
  return [
    await measureForm('mul+add', SIMD_LAYOUTS, repeats, targetMs),
    await measureForm('relaxed_madd', RELAXED_LAYOUTS, repeats, targetMs),
  ];
}

/** True when the entry was measured. */
export function isMeasured(p: PeakResult | PeakSkipped): p is PeakResult {
  return 'gflops' in p;
}

// Run alone: `node --import tsx bench/peak.ts` prints the peaks as JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await measurePeaks(), null, 2));
}
