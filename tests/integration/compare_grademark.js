// compare_grademark.js - runs the rules of one of tapedeck's strategies (docs/STRATEGIES.md) through
// the grademark backtester (npm, MIT) over a Dukascopy TAB bar file and prints its trades in the
// format of `tapedeck backtest --trades-out` (side, entry/exit time and price), so that a test can
// compare them line by line with tapedeck's own trades for the same set, both run with the same
// conventions: signal at the bar's close, market fill at the next bar's open, no costs, long or
// short only (one side per run).
//
// usage: node compare_grademark.js NODE_MODULES BARFILE DIGITS long|short sma_cross fast=F,slow=S
//        node compare_grademark.js NODE_MODULES BARFILE DIGITS long|short breakout lookback=N[,atr_n=A]
//             [,sl_atr=X][,tp_atr=Y][,max_hold=H][,session_start=HH:MM,session_end=HH:MM][,weekdays=D]
//
// The rules are computed here in integers exactly as tapedeck computes them (prices in points; the
// ATR in units of 1e-8 with Wilder's smoothing as in processors/breakout.c) and handed to grademark
// as its entry and exit rules; grademark does the rest: positions, fills at the next open, stops and
// targets inside the bar, holding periods.
//
// How tapedeck's parameters are expressed in grademark (docs/BACKTEST.md):
//   - breakout's stops: tapedeck prices SL = close -/+ dist from the DECIDING bar's close (dist =
//     sl_atr x ATR rounded to whole points); grademark's stopLoss / profitTarget return a distance
//     from the ENTRY price, so they return |entry - level| for the level computed at the deciding
//     bar (exact in doubles: both are near each other, so the difference is exact).
//   - max_hold: tapedeck counts the bars closed in the position including the entry's fill bar;
//     grademark's position.holdingPeriod is 0 on the entry bar and 1 on the next: the exit rule is
//     holdingPeriod + 1 >= max_hold.
//
// Differences of convention, on grademark's side, that this script counts (stderr, one line
// "convention events: N (...)") so the caller can tell them from a disagreement with tapedeck's
// default conventions (`tapedeck backtest --convention grademark` switches to these three, and
// must then agree exactly):
//   fill-bar decisions: grademark evaluates no rule on a bar on which it filled (at the open, or
//     at a stop or target inside the bar); tapedeck decides on every bar's close. Counted: such bars
//     where tapedeck's rule, with the position grademark holds after the fill, decides something.
//   entry-bar levels: grademark does not check the stop and the target on the entry's fill bar;
//     tapedeck does (the order is filled at the open, the rest of the bar can hit them). Counted:
//     entry bars whose range reaches the stop or the target.
//   gaps through a level: when a bar opens beyond the stop or target, grademark fills at the level,
//     tapedeck at the open (the price there is). Counted: bars in a position opening beyond one.
"use strict";
const path = require("path");
const fs = require("fs");
const [modules, file, digitsArg, side, strategyName, paramsArg = ""] = process.argv.slice(2);
const gm = require(path.join(modules, "grademark"));
const { TradeDirection } = require(path.join(modules, "grademark", "build", "lib", "strategy"));
const { DataFrame } = require(path.join(modules, "data-forge"));
const digits = Number(digitsArg);
const scale = 10 ** digits;
if (side !== "long" && side !== "short") throw new Error(`side must be long or short, got ${side}`);
const params = {};
for (const kv of paramsArg.split(",").filter((s) => s.length > 0)) {
  const [k, v] = kv.split("=");
  params[k] = v;
}

// the bars: Time Open High Low Close Volume, TAB, GMT
const lines = fs.readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.length > 0);
const bars = lines.slice(1).map((l) => {
  const f = l.split("\t");
  return { time: new Date(f[0].replace(" ", "T") + "Z"), open: Number(f[1]), high: Number(f[2]),
           low: Number(f[3]), close: Number(f[4]) };
});
const n = bars.length;
const pt = (x) => Math.round(x * scale); // the file's prices have at most `digits` decimals
const O = bars.map((b) => pt(b.open)), H = bars.map((b) => pt(b.high));
const L = bars.map((b) => pt(b.low)), C = bars.map((b) => pt(b.close));
const enter = side === "long" ? 1 : -1;

// Per bar: entry[i] / exit[i] (the rule's decision at bar i's close for this side, from flat and
// from a position), held-out (max_hold), and the stop and target levels (points) of an entry
// decided at bar i.
const entry = new Array(n).fill(false), exit = new Array(n).fill(false);
const slAt = new Array(n).fill(0), tpAt = new Array(n).fill(0);
let maxHold = 0;

if (strategyName === "sma_cross") {
  // sign(F * slow - S * fast) with F, S the sums of the last fast and slow closes in points; a
  // cross is a non-zero sign that differs from the last non-zero sign; the first non-zero sign
  // after warm-up only sets it.
  const fast = Number(params.fast), slow = Number(params.slow);
  let F = 0, S = 0, last = 0;
  for (let i = 0; i < n; i++) {
    F += C[i]; S += C[i];
    if (i >= fast) F -= C[i - fast];
    if (i >= slow) S -= C[i - slow];
    if (i < slow - 1) continue;
    const d = F * slow - S * fast; // < 2^53 for prices below 9e7 points and slow <= 1000
    const sign = d > 0 ? 1 : d < 0 ? -1 : 0;
    if (sign === 0) continue;
    if (last !== 0 && sign !== last) {
      entry[i] = sign === enter;
      exit[i] = sign === -enter;
    }
    last = sign;
  }
} else if (strategyName === "breakout") {
  const lookback = Number(params.lookback), atrN = Number(params.atr_n || 14);
  maxHold = Number(params.max_hold || 0);
  const fx = (s) => { // a decimal of at most 8 places as an integer x 1e8 (BigInt)
    const [a, b = ""] = String(s).split(".");
    return BigInt(a) * 100000000n + BigInt((b + "00000000").slice(0, 8));
  };
  const slMult = fx(params.sl_atr || "0"), tpMult = fx(params.tp_atr || "0");
  const stops = slMult !== 0n || tpMult !== 0n;
  const hhmm = (s) => { const [h, m] = s.split(":").map(Number); return h * 60 + m; };
  const ss = hhmm(params.session_start || "00:00"), se = hhmm(params.session_end || "00:00");
  const inSession = (m) => (ss === se ? true : ss < se ? m >= ss && m < se : m >= ss || m < se);
  const days = new Set((params.weekdays || "0123456").split("").map(Number));
  // ATR in units of 1e-8 (BigInt): S = atr_n x ATR, Wilder's smoothing with S / n rounded half up
  const unit = 10n ** BigInt(8 - digits); // one point in 1e-8
  const rdiv = (a, d) => a / d + (2n * (a % d) >= d ? 1n : 0n);
  let atrSum = 0n, atrCount = 0;
  const dist = (mult, atr) => { // points: mult x ATR rounded half up to whole points, at least 1
    if (mult === 0n) return 0;
    const raw = rdiv(mult * atr, 100000000n);
    const p = rdiv(raw, unit);
    return Number(p < 1n ? 1n : p);
  };
  for (let i = 0; i < n; i++) {
    const h = BigInt(H[i]) * unit, l = BigInt(L[i]) * unit;
    let tr = h - l;
    if (i > 0) {
      const pc = BigInt(C[i - 1]) * unit;
      const a = h > pc ? h - pc : pc - h, b = l > pc ? l - pc : pc - l;
      if (a > tr) tr = a;
      if (b > tr) tr = b;
    }
    if (atrCount < atrN) { atrSum += tr; atrCount++; } else atrSum = atrSum - rdiv(atrSum, BigInt(atrN)) + tr;
    if (i < lookback) continue;
    let hh = -Infinity, ll = Infinity;
    for (let j = i - lookback; j < i; j++) { if (H[j] > hh) hh = H[j]; if (L[j] < ll) ll = L[j]; }
    const t = bars[i].time;
    const ok = inSession(t.getUTCHours() * 60 + t.getUTCMinutes()) && days.has(t.getUTCDay()) &&
               (atrCount === atrN || !stops);
    const up = C[i] > hh, down = C[i] < ll;
    // long only: breakout_high enters, breakout_low closes a long; short only: the mirror
    entry[i] = ok && (enter > 0 ? up : down);
    exit[i] = enter > 0 ? down : up;
    if (entry[i] && stops) {
      const atr = rdiv(atrSum, BigInt(atrN));
      const sd = dist(slMult, atr), td = dist(tpMult, atr);
      slAt[i] = sd ? C[i] - enter * sd : 0;
      tpAt[i] = td ? C[i] + enter * td : 0;
      if (slAt[i] < 0) slAt[i] = 0; // tapedeck leaves out a level <= 0
      if (tpAt[i] < 0) tpAt[i] = 0;
    }
  }
} else {
  throw new Error(`unknown strategy ${strategyName}`);
}

const index = new Map(bars.map((b, i) => [+b.time, i]));
const series = new DataFrame(bars.map((b, i) => ({ ...b, i })));
const strategy = {
  lookbackPeriod: 1,
  entryRule: (enterPosition, args) => {
    if (entry[args.bar.i])
      enterPosition({ direction: side === "long" ? TradeDirection.Long : TradeDirection.Short });
  },
  exitRule: (exitPosition, args) => {
    if (exit[args.bar.i] || (maxHold > 0 && args.position.holdingPeriod + 1 >= maxHold)) exitPosition();
  },
};
// the levels of an entry decided at bar i - 1, as distances from the fill price at bar i's open
const level = (p) => p / scale;
if (slAt.some((x) => x !== 0))
  strategy.stopLoss = (args) => {
    const sl = slAt[args.bar.i - 1];
    return sl === 0 ? Infinity : enter * (args.entryPrice - level(sl));
  };
if (tpAt.some((x) => x !== 0))
  strategy.profitTarget = (args) => {
    const tp = tpAt[args.bar.i - 1];
    return tp === 0 ? Infinity : enter * (level(tp) - args.entryPrice);
  };
const trades = gm.backtest(strategy, series);

// the differences of convention (see the header), counted over grademark's trades
const events = []; // [bar index, kind]
for (const t of trades) {
  const e = index.get(+t.entryTime), x = index.get(+t.exitTime);
  const sl = slAt[e - 1], tp = tpAt[e - 1];
  const touches = (j) => (enter > 0 ? (sl && L[j] <= sl) || (tp && H[j] >= tp)
                                    : (sl && H[j] >= sl) || (tp && L[j] <= tp));
  // the entry's fill bar: tapedeck, in the position, would close on an exit signal or max_hold 1
  if (e < n && (exit[e] || maxHold === 1)) events.push([e, "fill-bar decision"]);
  if (e < n && touches(e)) events.push([e, "entry-bar level"]);
  // (an exit by the rule is filled at x's open before any level is checked, in both)
  const last = t.exitReason === "exit-rule" ? x - 1 : x;
  for (let j = e + 1; j <= last && j < n; j++)
    if (enter > 0 ? (sl && O[j] <= sl) || (tp && O[j] >= tp) : (sl && O[j] >= sl) || (tp && O[j] <= tp))
      events.push([j, "gap through a level"]);
  // the exit's bar (at the open, or at a level inside it): tapedeck, flat, would enter again
  if (t.exitReason !== "finalize" && entry[x]) events.push([x, "fill-bar decision"]);
}
const count = (kind) => events.filter((ev) => ev[1] === kind).length;
process.stderr.write(`convention events: ${events.length} (fill-bar decisions ${count("fill-bar decision")}, ` +
                     `entry-bar levels ${count("entry-bar level")}, gaps through a level ${count("gap through a level")})\n`);
events.sort((a, b) => a[0] - b[0]);
for (const [j, kind] of events) process.stderr.write(`event ${bars[j].time.toISOString()} ${kind}\n`);

// the trades, with why each ended (the last column, not part of tapedeck's file)
const iso = (d) => d.toISOString();
const why = { "stop-loss": "stop_loss", "profit-target": "take_profit" };
for (const t of trades) {
  if (t.exitReason === "finalize") continue; // a position still open at the end is not a trade
  const x = index.get(+t.exitTime);
  const reason = why[t.exitReason] || (exit[x - 1] ? "signal" : "max_hold");
  console.log([side, iso(t.entryTime), t.entryPrice.toFixed(digits), iso(t.exitTime), t.exitPrice.toFixed(digits),
               reason].join(","));
}
