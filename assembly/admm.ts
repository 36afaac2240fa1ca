// The Net-Trim ADMM of method.md section 3, run entirely inside wasm: the caller writes X, Y (and V)
// once, fills the parameter block, calls admmSolve and reads W2 and the outputs back.
import { Param, Status, TRACE_FIELDS } from './params';
import { arenaAllocF32, arenaUsed } from './memory';
import { gemm } from './gemm';
import { getThreads, limitThreads } from './threads';
import { dualBound } from './certificate';
import { gramMax, systemMatrix, systemReserve, systemScratchCount, systemSetup, updateW3 } from './system';
import {
  sumA, sumB, sumC, sumD, activeDistanceSq, updateW1, updateW2, updateDualsSamples, updateDualsWeights,
  scaleInPlace, measureFit,
} from './updates';
import { groupsReserve, groupsReserved, updateW2Groups } from './groups';
import {
  quadA, quadB, quadC, quadD, gramReserve, gramForm, gramSetup, gramDistanceSq, gramUpdateW1, gramUpdateW3, gramUpdateDuals,
  gramScaleDuals, gramFitSq, gramMaterialize,
} from './gram';

// Residual balancing (Boyd et al. 2011, 3.4.1): rho moves by the square root of the ratio of the
// residuals, each over its tolerance, when that ratio leaves [1/MU, MU].
const MU: f64 = 5;
const RHO_MIN: f64 = 1e-6;
const RHO_MAX: f64 = 1e6;
const MAX_STEP: f64 = 10; // largest change of rho at one adaptation
// ADMM converges when rho settles; changes too often make it cycle. So after each change the
// next one waits longer: FIRST_WAIT iterations, then WAIT_GROWTH times more each time.
const FIRST_WAIT: f64 = 5;
const WAIT_GROWTH: f64 = 1.5;
// The returned W2 must itself satisfy the epsilon ball to within BallTolerance (of epsilon, or of
// ||Y|| / 100 when epsilon is tiny), and push no inactive output above its cap by more than
// InactiveTolerance of max |Y|; when the residual test passes but W2 does not, the primal tolerance
// shrinks by TIGHTEN and the loop goes on. The primal one alone: W2's distance to the program is
// what the primal residual measures, the dual one measures optimality and was met. Shrinking both
// made the dual test the long pole and residual balancing then undid the boost below
// (bench/README.md "wide layers' restarts": 170 -> 106 iterations at P = 1000, N = 1024, M = 2048).
const TIGHTEN: f64 = 0.3;
// W2 misses a bound while the residuals pass: the consensus W1 = X W3, W2 = W3 is not tight
// enough, so rho (the weight on it) grows by FEASIBILITY_BOOST (bench/README.md: 219 -> 150 iterations
// on mnist-mlp layer 2, P = 1000, with the recheck below; 10 was worse).
const RECHECK_EVERY: i32 = 10;
const FEASIBILITY_BOOST: f64 = 3;
// A W is carried along by CG; recompute it exactly this often against rounding drift.
const REFRESH_EVERY: i32 = 20;
// Param.Form: the Gram form (gram.ts) for linear programs, as the caller decided (src/layer/solve.ts
// picks it when P >= N: its iteration costs CG's N x N x M products alone, the sample form's adds
// two N x M x P products, bench/gram.ts).
const FORM_GRAM: i32 = 2;

// @ts-ignore: decorator
@inline function param(block: usize, k: Param): f64 {
  return load<f64>(block + (<usize>k << 3));
}
// @ts-ignore: decorator
@inline function setParam(block: usize, k: Param, v: f64): void {
  store<f64>(block + (<usize>k << 3), v);
}

/**
 * Solves one layer program. X (P x N) and Y (P x M) are sample-major with padded sizes, all multiples
 * of 8, padding zero (zeros stay exactly zero through every step). X, Y and V are scaled
 * in place by 1 / c0. W2 is written to WOutPtr (N x M, row-major).
 */
export function admmSolve(block: usize): void {
  // a small program runs faster on fewer threads than were set up (fork-join costs more than it saves)
  const before = getThreads(), wanted = <i32>param(block, Param.Threads);
  if (wanted > 0) limitThreads(min(wanted, before)); // only ever fewer: the caller may have limited them already
  solve(block);
  limitThreads(before);
}

function solve(block: usize): void {
  const n = <i32>param(block, Param.Rows), m = <i32>param(block, Param.Cols), p = <i32>param(block, Param.Samples);
  const x = <usize>param(block, Param.XPtr), y = <usize>param(block, Param.YPtr);
  const v = <usize>param(block, Param.VPtr), wOut = <usize>param(block, Param.WOutPtr);
  const regions = <usize>param(block, Param.RegionsPtr), freeRow = <i32>param(block, Param.FreeRow);
  const wInit = <usize>param(block, Param.WInitPtr);
  const relu = param(block, Param.Relu) != 0;
  const thr = <f32>param(block, Param.ActiveThreshold);
  const alpha = <f32>param(block, Param.Relaxation);
  const absTol = param(block, Param.AbsTol), relTol = param(block, Param.RelTol);
  const maxIter = <i32>param(block, Param.MaxIterations), maxCg = <i32>param(block, Param.MaxCgSteps);
  const cgTol = <f32>param(block, Param.CgTol);
  const adaptive = param(block, Param.AdaptiveRho) != 0;
  let rho = param(block, Param.Rho);
  const trace = <usize>param(block, Param.TracePtr), traceCap = trace == 0 ? 0 : <i32>param(block, Param.TraceCapacity);

  const realP = <i32>param(block, Param.RealSamples), realM = <i32>param(block, Param.RealCols);
  const pm = <usize>p * m, nm = <usize>n * m;
  const form = <i32>param(block, Param.Form);
  const gram = !relu && form == FORM_GRAM;
  // Workspace: four P x M blocks, three N x M blocks, the W3 system's (system.ts).
  let t = arenaAllocF32(pm), tNew = arenaAllocF32(pm);
  const u1 = arenaAllocF32(pm), w1 = arenaAllocF32(pm);
  const w3 = arenaAllocF32(nm), w3Prev = arenaAllocF32(nm), u2 = arenaAllocF32(nm);
  let reserved = u2 != 0 && systemReserve(n, m, p, gram) && (!gram || gramReserve(n, m));
  // The system's set-up needs two square scratch blocks once: borrow W1 and Tnew when large enough.
  const scratch = systemScratchCount(), borrow = pm >= scratch;
  const scratchA = borrow ? w1 : arenaAllocF32(scratch), scratchB = borrow ? tNew : arenaAllocF32(scratch);
  reserved = reserved && scratchB != 0;
  const grouped = groupsReserve(block); // the group program (method.md 7): only its W2 step differs
  reserved = reserved && (!grouped || groupsReserved());
  setParam(block, Param.WorkspaceBytes, <f64>arenaUsed());
  if (!reserved) { setParam(block, Param.Status, Status.OutOfMemory); return; }
  const w2 = wOut;

  // Scaling (method.md 3): c0 = 0.3 sqrt(max X^T X); the feasible set and the solution do not change.
  const gmax = gramMax(x, n, p);
  const c0: f64 = gmax > 0 ? 0.3 * Math.sqrt(<f64>gmax) : 1;
  const inv = <f32>(1 / c0);
  scaleInPlace(x, <usize>p * n, inv);
  scaleInPlace(y, pm, inv);
  if (v != 0) scaleInPlace(v, pm, inv);
  if (gram) gramForm(x, systemMatrix(), n, p);
  setParam(block, Param.InverseResidual, systemSetup(x, n, p, scratchA, scratchB, gram));
  const eps = param(block, Param.Epsilon) / c0;
  setParam(block, Param.C0, c0);

  memory.fill(w2, 0, nm << 2);
  if (wInit != 0) {
    memory.copy(w3, wInit, nm << 2);
    if (!gram) gemm(t, m, x, n, 1, w3, m, p, m, n, false);
  }
  // a warm start's multipliers, as scaled duals at this rho (the Gram form keeps U1 in its own
  // coordinates: it starts from W alone)
  const duals = <usize>param(block, Param.DualsPtr);
  if (duals != 0 && param(block, Param.DualsIn) == 1 && !gram) {
    scaleInto(u1, duals, pm, <f32>(c0 / rho));
    scaleInto(u2, duals + (pm << 2), nm, <f32>(1 / rho));
  }
  if (gram) gramSetup(x, y, w3, tNew, n, m, p);

  // Tolerance scales (Boyd 3.3.1): sqrt of the constraint count for the absolute part.
  const realCount = param(block, Param.RealSamples) * param(block, Param.RealCols) +
    param(block, Param.RealRows) * param(block, Param.RealCols);
  const absPart = Math.sqrt(realCount) * absTol;
  let primalScale: f64 = 1; // shrinks by TIGHTEN each time W2 misses the program (see there)
  const yNorm = param(block, Param.TargetNorm) / c0;
  const ballLimit = eps + param(block, Param.BallTolerance) * Math.max(eps, 0.01 * yNorm);
  const inactiveSlack = param(block, Param.InactiveTolerance);
  let status = Status.MaxIterations, it = 0, cgSteps = 0;
  let wait = FIRST_WAIT, lastChange = 0; // rho changes wait longer each time (see WAIT_GROWTH)
  let r: f64 = Infinity, s: f64 = Infinity, epsPri: f64 = 0, epsDual: f64 = 0;
  let missed = false; // the residual test passed once with W2 infeasible

  while (it < maxIter) {
    // the caller's thread may ask the solve to stop (an AbortSignal): read once an iteration
    if (atomicCancelled(block)) { status = Status.Cancelled; break; }
    it++;
    // W1 and W2 steps (the sparse copy W2 is written straight into the output)
    const dist = Math.sqrt(gram ? gramDistanceSq(w3) : activeDistanceSq(t, u1, y, regions, pm, relu, thr));
    const gain = <f32>(dist > eps ? eps / dist : 1);
    const w1Sq = gram ? gramUpdateW1(w3, gain, alpha) : updateW1(w1, t, u1, y, v, regions, pm, relu, thr, gain, alpha);
    const w2Sq = grouped
      ? updateW2Groups(w2, w3, u2, n, m, <f32>(1 / rho), alpha)
      : updateSparseCopy(w2, w3, u2, n, m, freeRow, <f32>(1 / rho), alpha);
    // W3 step: (I + X^T X) W3 = X^T (W1hat + U1) + W2hat + U2, and Tnew = X W3
    memory.copy(w3Prev, w3, nm << 2);
    const refresh = (it - 1) % REFRESH_EVERY == 0;
    const steps = gram ? gramUpdateW3(u2, w3, maxCg, cgTol, refresh)
      : updateW3(x, u1, u2, w3, tNew, n, m, p, maxCg, cgTol, refresh);
    cgSteps += steps;
    // dual updates and residuals
    if (gram) gramUpdateDuals(w3, w3Prev);
    else updateDualsSamples(w1, tNew, t, u1, pm);
    const primalSq1 = gram ? quadA : sumA, dualSq1 = gram ? quadB : sumB, tSq = gram ? quadC : sumC, u1Sq = gram ? quadD : sumD;
    updateDualsWeights(w2, w3, w3Prev, u2, nm);
    const primalSq = primalSq1 + sumA, dualSq = dualSq1 + sumB, zSq = tSq + sumC, uSq = u1Sq + sumD;
    const tSwap = t; t = tNew; tNew = tSwap;
    r = Math.sqrt(primalSq);
    s = rho * Math.sqrt(dualSq);
    const uNorm = Math.sqrt(uSq);
    const scale = Math.max(Math.sqrt(w1Sq + w2Sq), Math.sqrt(zSq));
    epsPri = (absPart + relTol * scale) * primalScale;
    epsDual = absPart + relTol * rho * uNorm;
    // live figures, for a caller's thread to poll while the solve runs (the final ones follow at the end)
    setParam(block, Param.Iterations, it);
    setParam(block, Param.PrimalResidual, r); setParam(block, Param.PrimalTolerance, epsPri);
    setParam(block, Param.DualResidual, s); setParam(block, Param.DualTolerance, epsDual);
    const rec = it <= traceCap ? trace + ((<usize>(it - 1) * TRACE_FIELDS) << 3) : 0;
    if (rec != 0) {
      store<f64>(rec, r); store<f64>(rec, s, 8); store<f64>(rec, epsPri, 16); store<f64>(rec, epsDual, 24);
      store<f64>(rec, rho, 32); store<f64>(rec, <f64>steps, 40); store<f64>(rec, NaN, 48); store<f64>(rec, NaN, 56);
    }
    if (!isFinite(r) || !isFinite(s)) { status = Status.NonFinite; break; }
    // Once the residual test has passed and W2 was not yet feasible, W2 is checked every
    // RECHECK_EVERY iterations too: it often becomes feasible well before the tightened test passes.
    const converged = r <= epsPri && s <= epsDual;
    if (converged || (missed && it % RECHECK_EVERY == 0)) {
      // the Gram form's fit decides cheaply; the exact product confirms (rounding in its difference)
      const quickSq = gram ? gramFitSq(w2) : 0;
      const feasible = quickSq <= ballLimit * ballLimit &&
        sparseCopyFeasible(w2, tNew, x, y, v, regions, n, m, p, realP, realM, relu, thr, ballLimit, inactiveSlack);
      // the trace records what W2 missed: its ball error over epsilon, its worst bound violation over max |Y|
      if (rec != 0) {
        store<f64>(rec, Math.sqrt(quickSq > ballLimit * ballLimit ? quickSq : sumA) / eps, 48);
        store<f64>(rec, relu ? sumC / sumD : NaN, 56);
      }
      if (feasible) {
        status = Status.Solved;
        break;
      }
      if (converged) {
        primalScale *= TIGHTEN;
        missed = true;
        if (relu && sumC > inactiveSlack * sumD) {
          const next = Math.min(RHO_MAX, rho * FEASIBILITY_BOOST);
          rescaleDuals(gram, u1, pm, u2, nm, <f32>(rho / next));
          rho = next;
          lastChange = it;
        }
      }
    }
    if (adaptive && <f64>(it - lastChange) >= wait) {
      const next = adaptRho(rho, r, s, epsPri, epsDual);
      if (next != rho) {
        // scaled duals are y / rho: keep y fixed
        rescaleDuals(gram, u1, pm, u2, nm, <f32>(rho / next));
        rho = next;
        lastChange = it;
        wait *= WAIT_GROWTH;
      }
    }
  }
  if (status == Status.MaxIterations && r <= 10 * epsPri && s <= 10 * epsDual) status = Status.SolvedInaccurate;
  // the Gram form's U1 and T as the sample form has them, for the certificate
  if (gram && status != Status.Cancelled && status != Status.NonFinite) gramMaterialize(x, y, u1, t, w3, n, m, p);

  // Quality of what is returned: the sparse copy W2, measured against the original program
  // (already measured, by the feasibility check, when solved).
  if (status != Status.Solved && status != Status.Cancelled) {
    gemm(tNew, m, x, n, 1, w2, m, p, m, n, false);
    measureFit(tNew, y, v, regions, realP, realM, m, relu, thr);
  }
  const errorSq = sumA, worst = sumC, targetMax = sumD; // the certificate's product reuses the sums
  // the multipliers for a neighbouring solve to start from (before the certificate consumes U1)
  if (duals != 0 && status != Status.Cancelled && status != Status.NonFinite) {
    scaleInto(duals, u1, pm, <f32>(rho / c0));
    scaleInto(duals + (pm << 2), u2, nm, <f32>rho);
  }
  // the certificate: a lower bound on the optimum from the dual U1 (consumed; w3Prev, tNew are scratch)
  const bound = status == Status.Cancelled || status == Status.NonFinite ? 0
    : dualBound(u1, t, x, y, v, regions, w3Prev, tNew, n, m, p, realP, realM, relu, thr, eps, rho, freeRow);
  setParam(block, Param.Status, status);
  setParam(block, Param.Iterations, it);
  setParam(block, Param.PrimalResidual, r);
  setParam(block, Param.DualResidual, s);
  setParam(block, Param.PrimalTolerance, epsPri);
  setParam(block, Param.DualTolerance, epsDual);
  setParam(block, Param.FinalRho, rho);
  setParam(block, Param.CgSteps, cgSteps);
  setParam(block, Param.ErrorNormSq, errorSq * c0 * c0);
  setParam(block, Param.MaxInactive, worst * c0);
  setParam(block, Param.TargetMax, targetMax * c0);
  setParam(block, Param.DualBound, bound);
  setParam(block, Param.GramForm, gram ? 1 : 0);
}

/** Scales the scaled duals U1 and U2 by s (rho changed). */
function rescaleDuals(gram: bool, u1: usize, pm: usize, u2: usize, nm: usize, s: f32): void {
  if (gram) gramScaleDuals(s);
  else scaleInPlace(u1, pm, s);
  scaleInPlace(u2, nm, s);
}

/** out = s a over count entries. */
function scaleInto(out: usize, a: usize, count: usize, s: f32): void {
  memory.copy(out, a, count << 2);
  scaleInPlace(out, count, s);
}

/** Whether Param.Cancel is set; an atomic read where other threads can write it. */
function atomicCancelled(block: usize): bool {
  const at = block + (<usize>Param.Cancel << 3);
  if (ASC_FEATURE_THREADS) return atomic.load<i64>(at) != 0;
  return load<i64>(at) != 0;
}

/**
 * Residual balancing: the residuals measured against their own tolerances (the quantities that
 * decide termination) should be within a factor MU; outside it rho moves by the square root of
 * their ratio, by at most MAX_STEP. Returns rho unchanged when balanced.
 */
function adaptRho(rho: f64, r: f64, s: f64, epsPri: f64, epsDual: f64): f64 {
  if (!(r > 0 && s > 0)) return rho;
  const ratio = (r / Math.max(epsPri, 1e-30)) / Math.max(s / Math.max(epsDual, 1e-30), 1e-30);
  if (ratio <= MU && ratio >= 1 / MU) return rho;
  const factor = Math.min(MAX_STEP, Math.max(1 / MAX_STEP, Math.sqrt(ratio)));
  return Math.min(RHO_MAX, Math.max(RHO_MIN, rho * factor));
}

/**
 * The W2 step over the N x M block; a free row (the bias, when not penalised) is thresholded by 0,
 * i.e. copied: rows are contiguous, so that is three calls of the same pass.
 */
function updateSparseCopy(w2: usize, w3: usize, u2: usize, n: i32, m: i32, freeRow: i32, kappa: f32, alpha: f32): f64 {
  const nm = <usize>n * m;
  if (freeRow < 0) return updateW2(w2, w3, u2, nm, kappa, alpha);
  const head = <usize>freeRow * m, tail = head + m, off = head << 2, offTail = tail << 2;
  return updateW2(w2, w3, u2, head, kappa, alpha) +
    updateW2(w2 + off, w3 + off, u2 + off, <usize>m, 0, alpha) +
    updateW2(w2 + offTail, w3 + offTail, u2 + offTail, nm - tail, kappa, alpha);
}

/** Whether the sparse copy meets both constraints to the slack above; W^T X goes to the scratch `t`. */
function sparseCopyFeasible(
  w: usize, t: usize, x: usize, y: usize, v: usize, regions: usize, n: i32, m: i32, p: i32, realP: i32, realM: i32,
  relu: bool, thr: f32, ballLimit: f64, inactiveSlack: f64,
): bool {
  gemm(t, m, x, n, 1, w, m, p, m, n, false);
  measureFit(t, y, v, regions, realP, realM, m, relu, thr);
  return Math.sqrt(sumA) <= ballLimit && (!relu || sumC <= inactiveSlack * sumD);
}
