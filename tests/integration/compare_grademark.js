// compare_grademark.js - runs the sma_cross rules of docs/STRATEGIES.md through the grademark
// backtester (npm, MIT) over a Dukascopy TAB bar file and prints its trades in the format of
// `tapedeck backtest --trades-out` (entry/exit time and price), so that a test can compare them
// line by line with tapedeck's own trades for the same set, both run with the same conventions:
// signal at the bar's close, market fill at the next bar's open, no costs, long or short only.
//
// usage: node compare_grademark.js NODE_MODULES BARFILE DIGITS FAST SLOW long|short
//
// grademark evaluates no rule on a bar at whose open it fills (entry or exit): a cross on such a
// bar is not seen by it. The script counts those bars and prints "fill-bar crosses: N" on stderr,
// so the caller can tell a convention difference from a disagreement.
"use strict";
const path = require("path");
const fs = require("fs");
const [modules, file, digitsArg, fastArg, slowArg, side] = process.argv.slice(2);
const gm = require(path.join(modules, "grademark"));
const { TradeDirection } = require(path.join(modules, "grademark", "build", "lib", "strategy"));
const { DataFrame } = require(path.join(modules, "data-forge"));
const digits = Number(digitsArg), fast = Number(fastArg), slow = Number(slowArg);
const scale = 10 ** digits;

// the bars: Time Open High Low Close Volume, TAB, GMT
const lines = fs.readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.length > 0);
const bars = lines.slice(1).map((l) => {
  const f = l.split("\t");
  return { time: new Date(f[0].replace(" ", "T") + "Z"), open: Number(f[1]), high: Number(f[2]),
           low: Number(f[3]), close: Number(f[4]) };
});

// sma_cross's decision in integers: sign(F * slow - S * fast) with F, S the sums of the last fast
// and slow closes in points; a cross is a non-zero sign that differs from the last non-zero sign;
// the first non-zero sign after warm-up only sets it.
const pts = bars.map((b) => Math.round(b.close * scale));
let F = 0, S = 0, last = 0;
const cross = new Array(bars.length).fill(0);
for (let i = 0; i < bars.length; i++) {
  F += pts[i]; S += pts[i];
  if (i >= fast) F -= pts[i - fast];
  if (i >= slow) S -= pts[i - slow];
  if (i < slow - 1) continue;
  const d = F * slow - S * fast; // < 2^53 for prices below 9e7 points and slow <= 1000
  const sign = d > 0 ? 1 : d < 0 ? -1 : 0;
  if (sign === 0) continue;
  if (last !== 0 && sign !== last) cross[i] = sign;
  last = sign;
}
const enter = side === "long" ? 1 : -1;
const series = new DataFrame(bars.map((b, i) => ({ ...b, cross: cross[i] })));
const strategy = {
  lookbackPeriod: 1,
  entryRule: (enterPosition, args) => {
    if (args.bar.cross === enter)
      enterPosition({ direction: side === "long" ? TradeDirection.Long : TradeDirection.Short });
  },
  exitRule: (exitPosition, args) => {
    if (args.bar.cross === -enter) exitPosition();
  },
};
const trades = gm.backtest(strategy, series);

// crosses on bars where grademark filled (it evaluates no rule there)
const fillTimes = new Set();
for (const t of trades) { fillTimes.add(+t.entryTime); fillTimes.add(+t.exitTime); }
let missed = 0;
for (let i = 0; i < bars.length; i++) if (cross[i] !== 0 && fillTimes.has(+bars[i].time)) missed++;
process.stderr.write(`fill-bar crosses: ${missed}\n`);

const iso = (d) => d.toISOString();
for (const t of trades) {
  if (t.exitReason === "finalize") continue; // a position still open at the end is not a trade
  console.log([side, iso(t.entryTime), t.entryPrice.toFixed(digits), iso(t.exitTime), t.exitPrice.toFixed(digits)].join(","));
}
