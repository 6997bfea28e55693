//! One analysis run: read, fit, score, write.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use chrono_tz::Tz;
use serde::Deserialize;

use super::model::{BgNbd, GammaGamma, Rfm};
use super::rfm::{Quintiles, RfmGroup, fm_score};
use super::*;
use crate::jobs::Finish;
use crate::store::{self, Store};

/// Knobs of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Stop the process after the day's rows are written and before the run is recorded: how the
    /// crash test proves a half-done run is redone. Set by `DANGOL_FAILPOINT=analysis-after-rows`.
    pub crash_after_rows: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            crash_after_rows: std::env::var("DANGOL_FAILPOINT").is_ok_and(|v| v == "analysis-after-rows"),
        }
    }
}

/// The fields of a customer record a run needs.
#[derive(Deserialize)]
struct Life {
    #[serde(default)]
    merged_into: Option<u64>,
    #[serde(default)]
    erased_at: Option<i64>,
}

/// A buyer's purchases, folded per shop-local day.
#[derive(Debug, Clone, Default)]
struct Buyer {
    id: u64,
    orders: u32,
    days: u32,
    first_day: i32,
    last_day: i32,
    spent: f64,
    /// Spend on the first purchase day (the models' "first transaction" is not a repeat one).
    first_day_spent: f64,
}

impl Buyer {
    fn x(&self) -> u32 {
        self.days - 1
    }
    /// Mean value of the repeat purchase days (Gamma-Gamma's m_x).
    fn repeat_mean(&self) -> f64 {
        (self.spent - self.first_day_spent) / f64::from(self.x())
    }
}

/// The per-history predictions, shared by every buyer with the same (x, t_x, T).
#[derive(Debug, Clone, Copy)]
struct Prediction {
    p_alive: f64,
    orders: [f64; 3],
    next_days: f64,
}

const HORIZONS: [f64; 3] = [30.0, 90.0, 365.0];

/// Analyses every customer as of `now` and writes the day's rows; returns the final writes.
pub fn analyse(store: &Store, now: i64, tz: Tz, opts: &RunOptions) -> anyhow::Result<Finish> {
    let mut timings = Vec::new();
    let mut lap = Instant::now();
    let mut mark = |name: &str, lap: &mut Instant| {
        timings.push((name.to_string(), lap.elapsed().as_millis() as u64));
        *lap = Instant::now();
    };
    let today = local_day(now, tz);
    // Clear what an earlier run of the same day left; readers fall back to the day before.
    store.write_blocking(move |tx| {
        tx.delete_analysis_day(today)?;
        tx.delete_analysis_run(today)
    })?;

    let read = store.read()?;
    let previous: Option<(i32, AnalysisRun)> = read.analysis_run_on_or_before(today - 1)?;
    let month: Option<(i32, AnalysisRun)> = read.analysis_run_on_or_before(today - 30)?;

    let live: Vec<u64> = match read.live_customer_ids()? {
        Some(ids) => ids,
        None => {
            let mut live = Vec::new();
            read.for_each_customer_as::<Life>(|id, life| {
                if life.merged_into.is_none() && life.erased_at.is_none() {
                    live.push(id);
                }
            })?;
            live
        }
    };
    let buyers = read_buyers(&read, now, tz)?;
    mark("read", &mut lap);

    // --- the models ---------------------------------------------------------------------
    let mut fallback = Vec::new();
    let repeat_buyers = buyers.iter().filter(|b| b.days > 1).count();
    let total_orders: u64 = buyers.iter().map(|b| u64::from(b.orders)).sum();
    let revenue: f64 = buyers.iter().map(|b| b.spent).sum();
    let shop_order_value = if total_orders > 0 {
        revenue / total_orders as f64
    } else {
        0.0
    };
    let exposure: f64 = buyers.iter().map(|b| f64::from(today - b.first_day)).sum();
    let repeats: f64 = buyers.iter().map(|b| f64::from(b.x())).sum();
    let shop_daily_rate = if exposure > 0.0 { repeats / exposure } else { 0.0 };

    let sample: Vec<&Buyer> = if buyers.len() > FIT_SAMPLE {
        let keep = FIT_SAMPLE as f64 / buyers.len() as f64;
        buyers.iter().filter(|b| unit_hash(b.id) < keep).collect()
    } else {
        buyers.iter().collect()
    };
    let bgnbd = if buyers.len() < MIN_BUYERS || repeat_buyers < MIN_REPEAT_BUYERS {
        fallback.push(format!(
            "purchases: {} buyers of whom {} bought again; the model needs {MIN_BUYERS} and {MIN_REPEAT_BUYERS}",
            buyers.len(),
            repeat_buyers
        ));
        None
    } else {
        let mut groups: HashMap<(u32, i32, i32), f64> = HashMap::new();
        for b in &sample {
            *groups
                .entry((b.x(), b.last_day - b.first_day, today - b.first_day))
                .or_default() += 1.0;
        }
        // In key order, so that the same data gives the same fit to the last digit.
        let mut groups: Vec<((u32, i32, i32), f64)> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|g| g.0);
        let data: Vec<Rfm> = groups
            .iter()
            .map(|&((x, tx, t), w)| Rfm {
                x: f64::from(x),
                t_x: f64::from(tx),
                t: f64::from(t),
                weight: w,
            })
            .collect();
        match BgNbd::fit(&data) {
            Ok(fit) => Some((fit, sample.len())),
            Err(e) => {
                fallback.push(format!("purchases: the BG/NBD model could not be fitted ({e})"));
                None
            }
        }
    };
    let gamma_gamma = if bgnbd.is_none() || repeat_buyers < MIN_REPEAT_BUYERS {
        if bgnbd.is_some() {
            fallback.push(format!(
                "order value: {repeat_buyers} repeat buyers; the model needs {MIN_REPEAT_BUYERS}"
            ));
        }
        None
    } else {
        let data: Vec<(f64, f64, f64)> = sample
            .iter()
            .filter(|b| b.days > 1 && b.repeat_mean() > 0.0)
            .map(|b| (f64::from(b.x()), b.repeat_mean(), 1.0))
            .collect();
        match GammaGamma::fit(&data) {
            Ok(fit) if fit.model.q > 1.0 => Some((fit, data.len())),
            Ok(_) => {
                fallback.push("order value: the fitted spend model has no finite mean (q ≤ 1)".into());
                None
            }
            Err(e) => {
                fallback.push(format!("order value: the Gamma-Gamma model could not be fitted ({e})"));
                None
            }
        }
    };
    mark("fit", &mut lap);

    // --- per buyer ----------------------------------------------------------------------
    let bg = bgnbd.as_ref().map(|(f, _)| &f.model);
    let gg = gamma_gamma.as_ref().map(|(f, _)| &f.model);
    let fit_size = bgnbd.as_ref().map_or(0, |(_, n)| *n);
    let mut memo: HashMap<(u32, i32, i32), Prediction> = HashMap::new();
    let recency = Quintiles::new(buyers.iter().map(|b| f64::from(today - b.last_day)).collect(), false);
    let frequency = Quintiles::new(buyers.iter().map(|b| f64::from(b.orders)).collect(), true);
    let monetary = Quintiles::new(buyers.iter().map(|b| b.spent).collect(), true);
    // Every live customer gets a row; those who never bought are Prospects. Both lists are in id
    // order.
    let mut rows: Vec<AnalysisRow> = Vec::with_capacity(live.len());
    let mut bought = buyers.iter().peekable();
    for id in live {
        while bought.peek().is_some_and(|b| b.id < id) {
            bought.next(); // a buyer whose record is gone (cannot happen, but never misalign)
        }
        let Some(b) = bought.next_if(|b| b.id == id) else {
            rows.push(AnalysisRow {
                customer: id,
                group: RfmGroup::Prospects.code(),
                p_alive: f32::NAN,
                next_order_days: f32::NAN,
                ..Default::default()
            });
            continue;
        };
        let x = b.x();
        let (t_x, t) = (b.last_day - b.first_day, today - b.first_day);
        let (r, f, m) = (
            recency.score(f64::from(today - b.last_day)),
            frequency.score(f64::from(b.orders)),
            monetary.score(b.spent),
        );
        let mut row = AnalysisRow {
            customer: b.id,
            orders: b.orders,
            purchase_days: b.days,
            spent: b.spent,
            first_day: b.first_day,
            last_day: b.last_day,
            r,
            f,
            m,
            group: RfmGroup::of_scores(r, fm_score(f, m)).code(),
            ..Default::default()
        };
        match bg {
            Some(bg) => {
                let p = *memo
                    .entry((x, t_x, t))
                    .or_insert_with(|| predict(bg, f64::from(x), f64::from(t_x), f64::from(t)));
                row.basis = Basis::Model.code();
                // One order in the last few weeks is too little history of one's own: the
                // figures are the fitted models' average for a new customer, and say so.
                let new_customer = x == 0 && t < NEW_CUSTOMER_DAYS;
                let p = if new_customer {
                    row.basis = Basis::ShopAverage.code();
                    Prediction {
                        orders: HORIZONS.map(|h| bg.expected_purchases_new(h)),
                        ..p
                    }
                } else {
                    p
                };
                row.p_alive = p.p_alive as f32;
                row.orders_30 = p.orders[0] as f32;
                row.orders_90 = p.orders[1] as f32;
                row.orders_365 = p.orders[2] as f32;
                row.next_order_days = p.next_days as f32;
                let value = match gg {
                    Some(gg) if x > 0 && !new_customer => gg.expected_value(f64::from(x), b.repeat_mean()),
                    Some(gg) => gg.population_mean(),
                    None => shop_order_value,
                };
                row.order_value = value as f32;
                row.clv_365 = (p.orders[2] * value) as f32;
                row.churn = churn_of(p.p_alive).code();
                row.confidence = if x >= 2 && t >= 90 && fit_size >= 500 {
                    Level::High
                } else if x >= 1 || t >= 90 {
                    Level::Medium
                } else {
                    Level::Low
                }
                .code();
            }
            None => {
                row.basis = Basis::ShopAverage.code();
                row.p_alive = f32::NAN;
                row.orders_30 = (shop_daily_rate * HORIZONS[0]) as f32;
                row.orders_90 = (shop_daily_rate * HORIZONS[1]) as f32;
                row.orders_365 = (shop_daily_rate * HORIZONS[2]) as f32;
                row.order_value = shop_order_value as f32;
                row.clv_365 = (shop_daily_rate * HORIZONS[2] * shop_order_value) as f32;
                row.next_order_days = if shop_daily_rate > 0.0 {
                    (1.0 / shop_daily_rate) as f32
                } else {
                    f32::NAN
                };
                // Without a model, the risk follows the recency score alone.
                row.churn = match r {
                    0..=1 => Level::High,
                    2..=3 => Level::Medium,
                    _ => Level::Low,
                }
                .code();
                row.confidence = Level::Low.code();
            }
        }
        rows.push(row);
    }
    drop(memo);
    // Spend tiers by percentile of the predicted spend among buyers.
    let mut clv: Vec<f64> = rows
        .iter()
        .filter(|r| r.orders > 0)
        .map(|r| f64::from(r.clv_365))
        .collect();
    clv.sort_by(f64::total_cmp);
    let (tier_low_below, tier_high_above) = (percentile(&clv, TIER_LOW_BELOW), percentile(&clv, TIER_HIGH_ABOVE));
    drop(clv);
    for row in rows.iter_mut().filter(|r| r.orders > 0) {
        let v = f64::from(row.clv_365);
        row.tier = if v > tier_high_above {
            Level::High
        } else if v < tier_low_below {
            Level::Low
        } else {
            Level::Medium
        }
        .code();
    }
    let buyer_count = buyers.len() as u64;
    drop(buyers);
    mark("score", &mut lap);

    // --- compare with the day before and a month before -----------------------------------
    let mut changes: Vec<(u64, AnalysisChange)> = Vec::new();
    let moved_since_previous = match &previous {
        Some((day, _)) => Some(compare(&read, *day, &rows, Some(&mut changes))?),
        None => None,
    };
    let moved_since_month = match &month {
        Some((day, _)) => Some(compare(&read, *day, &rows, None)?),
        None => None,
    };
    drop(read);
    mark("compare", &mut lap);

    // --- the summary ---------------------------------------------------------------------
    let mut run = AnalysisRun {
        day: today,
        as_of: now,
        customers: rows.len() as u64,
        buyers: buyer_count,
        repeat_buyers: repeat_buyers as u64,
        orders: total_orders,
        revenue,
        bgnbd: bgnbd.as_ref().map(|(f, n)| FittedModel {
            params: named(
                &["r", "alpha", "a", "b"],
                &[f.model.r, f.model.alpha, f.model.a, f.model.b],
                &f.std_errors,
            ),
            log_likelihood: f.log_likelihood,
            customers: *n as u64,
            iterations: f.iterations,
            converged: f.converged,
        }),
        gamma_gamma: gamma_gamma.as_ref().map(|(f, n)| FittedModel {
            params: named(&["p", "q", "gamma"], &[f.model.p, f.model.q, f.model.v], &f.std_errors),
            log_likelihood: f.log_likelihood,
            customers: *n as u64,
            iterations: f.iterations,
            converged: f.converged,
        }),
        fallback,
        shop_order_value,
        shop_daily_rate,
        cuts: Cuts {
            recency_days: recency.thresholds(),
            frequency: frequency.thresholds(),
            monetary: monetary.thresholds(),
            tier_high_above,
            tier_low_below,
        },
        moved_since_previous,
        moved_since_month,
        ..Default::default()
    };
    summarise(&rows, &mut run);
    mark("summary", &mut lap);
    let message = crate::jobs::Done::new(
        format!(
            "{} customers, {} buyers ({} repeat), {}",
            run.customers,
            run.buyers,
            run.repeat_buyers,
            if run.fallback.is_empty() {
                "models fitted".to_string()
            } else {
                run.fallback.join("; ")
            }
        ),
        &[
            ("customers", crate::value::group_digits(run.customers as f64, 0)),
            ("buyers", crate::value::group_digits(run.buyers as f64, 0)),
            ("repeat", crate::value::group_digits(run.repeat_buyers as f64, 0)),
            (
                "models",
                if run.fallback.is_empty() { "fitted" } else { "fallback" }.to_string(),
            ),
        ],
    );
    let changed_ids: Vec<u64> = changes.iter().map(|(c, _)| *c).collect();
    // --- the day's rows, in chunks; invisible until the summary is written ----------------
    // The write jobs share the rows (a million rows are ~80 MB; no copy). The writer may apply a
    // job twice (a group retried), so a job only borrows them.
    let rows = std::sync::Arc::new(rows);
    for group in (0..rows.len()).step_by(CHUNK * 16) {
        let rows = rows.clone();
        store.write_blocking(move |tx| {
            let end = (group + CHUNK * 16).min(rows.len());
            for chunk in rows[group..end].chunks(CHUNK) {
                tx.put_analysis_chunk(today, chunk[0].customer, &ChunkRef { rows: chunk })?;
            }
            Ok::<_, store::Error>(())
        })?;
    }
    mark("write", &mut lap);
    run.timings = timings;
    if opts.crash_after_rows {
        tracing::error!("DANGOL_FAILPOINT=analysis-after-rows: stopping the process half way through the analysis");
        std::process::abort();
    }
    Ok(Box::new(move |tx| {
        // An earlier run of the same day may have recorded changes this one does not see.
        let earlier: Vec<u64> = tx.meta(&changed_key(today))?.unwrap_or_default();
        for customer in earlier {
            tx.delete_analysis_change(customer, today)?;
        }
        for (customer, change) in &changes {
            tx.put_analysis_change(*customer, today, change)?;
        }
        tx.put_meta(&changed_key(today), &changed_ids)?;
        prune(tx, today)?;
        tx.put_analysis_run(today, &run)?;
        Ok(message.clone())
    }))
}

/// A chunk written from a slice: encodes exactly as [`AnalysisChunk`].
#[derive(serde::Serialize)]
struct ChunkRef<'a> {
    rows: &'a [AnalysisRow],
}

/// The meta key listing who changed on `day`, so a second run of the day can take back what the
/// first recorded.
fn changed_key(day: i32) -> String {
    format!("analysis-changed:{day}")
}

/// Reads every purchase once, in customer order, and folds it per customer and shop-local day.
/// Orders after `now` (a clock set back in tests) and wholly refunded orders do not count.
fn read_buyers(read: &store::ReadTx, now: i64, tz: Tz) -> anyhow::Result<Vec<Buyer>> {
    let mut buyers: Vec<Buyer> = Vec::new();
    let mut days = DayCache::new(tz);
    read.for_each_purchase(|customer, at, amount| {
        if at > now || amount <= 0.0 {
            return;
        }
        let day = days.day(at);
        match buyers.last_mut() {
            Some(b) if b.id == customer => {
                b.orders += 1;
                b.spent += amount;
                if day != b.last_day {
                    b.days += 1;
                    b.last_day = day;
                } else if b.days == 1 {
                    b.first_day_spent += amount;
                }
            }
            _ => buyers.push(Buyer {
                id: customer,
                orders: 1,
                days: 1,
                first_day: day,
                last_day: day,
                spent: amount,
                first_day_spent: amount,
            }),
        }
    })
    .context("reading the orders")?;
    Ok(buyers)
}

/// Shop-local day numbers of instants, with the time-zone offset looked up once per hour.
struct DayCache {
    tz: Tz,
    hour: i64,
    offset_ms: i64,
}

impl DayCache {
    fn new(tz: Tz) -> DayCache {
        DayCache {
            tz,
            hour: i64::MIN,
            offset_ms: 0,
        }
    }

    fn day(&mut self, at: i64) -> i32 {
        use chrono::{Offset, TimeZone};
        let hour = at.div_euclid(3_600_000);
        if hour != self.hour {
            self.hour = hour;
            self.offset_ms = self
                .tz
                .timestamp_millis_opt(at)
                .single()
                .map(|t| i64::from(t.offset().fix().local_minus_utc()) * 1000)
                .unwrap_or(0);
        }
        (at + self.offset_ms).div_euclid(86_400_000) as i32
    }
}

/// The BG/NBD predictions for one history (days).
fn predict(bg: &BgNbd, x: f64, t_x: f64, t: f64) -> Prediction {
    let p_alive = if x > 0.0 {
        bg.p_alive(x, t_x, t)
    } else {
        // BG/NBD lets a customer drop out only after a repeat purchase, so it calls every
        // one-time buyer alive. For the churn risk we read the same drop-out chance as applying
        // after the first purchase too (the MBG/NBD reading, Batislam et al. 2007).
        let log_odds = (bg.a / bg.b).ln() + bg.r * ((bg.alpha + t).ln() - bg.alpha.ln());
        1.0 / (1.0 + log_odds.exp())
    };
    let orders = HORIZONS.map(|h| bg.expected_purchases(h, x, t_x, t));
    Prediction {
        p_alive,
        orders,
        next_days: bg.median_time_to_next_purchase(x, t),
    }
}

fn churn_of(p_alive: f64) -> Level {
    if p_alive < CHURN_HIGH_BELOW {
        Level::High
    } else if p_alive < CHURN_MEDIUM_BELOW {
        Level::Medium
    } else {
        Level::Low
    }
}

/// The value below which a share `q` of the sorted values lie (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// A number in [0, 1) from a customer id, the same on every run (SplitMix64's finaliser).
fn unit_hash(id: u64) -> f64 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn named(names: &[&str], values: &[f64], errors: &Option<Vec<f64>>) -> Vec<(String, f64, Option<f64>)> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.to_string(),
                values[i],
                errors.as_ref().and_then(|e| e.get(i).copied()),
            )
        })
        .collect()
}

/// Compares today's rows with a stored day's: group moves, tier and churn changes; and, when
/// `changes` is given, who changed.
fn compare(
    read: &store::ReadTx,
    day: i32,
    rows: &[AnalysisRow],
    mut changes: Option<&mut Vec<(u64, AnalysisChange)>>,
) -> anyhow::Result<Moves> {
    let mut moves: HashMap<(u8, u8), u64> = HashMap::new();
    let mut out = Moves {
        since: day_date(day).to_string(),
        ..Default::default()
    };
    let mut i = 0;
    read.for_each_analysis_chunk::<AnalysisChunk>(day, |chunk| {
        for old in chunk.rows {
            while i < rows.len() && rows[i].customer < old.customer {
                i += 1;
            }
            let Some(new) = rows.get(i).filter(|r| r.customer == old.customer) else {
                continue;
            };
            out.compared += 1;
            if old.group != new.group {
                *moves.entry((old.group, new.group)).or_default() += 1;
            }
            out.tier_changes += u64::from(old.tier != new.tier);
            out.churn_changes += u64::from(old.churn != new.churn);
            if let Some(changes) = changes.as_deref_mut()
                && (old.group != new.group || old.tier != new.tier || old.churn != new.churn)
            {
                changes.push((
                    new.customer,
                    AnalysisChange {
                        since: day,
                        group: (old.group, new.group),
                        tier: (old.tier, new.tier),
                        churn: (old.churn, new.churn),
                    },
                ));
            }
        }
    })?;
    let name = |g: u8| RfmGroup::from_code(g).map_or("none", RfmGroup::as_str).to_string();
    let mut groups: Vec<(String, String, u64)> = moves.into_iter().map(|((a, b), n)| (name(a), name(b), n)).collect();
    groups.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    out.groups = groups;
    Ok(out)
}

/// Fills the grid, the group, tier and churn buckets and the shop's predicted totals.
fn summarise(rows: &[AnalysisRow], run: &mut AnalysisRun) {
    let mut grid = vec![GridCell::default(); 25];
    for r in 1..=5u8 {
        for fm in 1..=5u8 {
            let cell = &mut grid[usize::from((5 - r) * 5 + fm - 1)];
            cell.r = r;
            cell.fm = fm;
        }
    }
    let mut groups: Vec<Bucket> = RfmGroup::ALL
        .iter()
        .map(|g| Bucket {
            name: g.as_str().into(),
            ..Default::default()
        })
        .collect();
    let levels = || -> Vec<Bucket> {
        Level::ALL
            .iter()
            .map(|l| Bucket {
                name: l.as_str().into(),
                ..Default::default()
            })
            .collect()
    };
    let (mut tiers, mut churn) = (levels(), levels());
    for row in rows {
        if let Some(g) = row.group() {
            let b = &mut groups[usize::from(g.code() - 1)];
            b.customers += 1;
            b.revenue += row.spent;
        }
        if row.r > 0 {
            let fm = fm_score(row.f, row.m);
            let cell = &mut grid[usize::from((5 - row.r) * 5 + fm - 1)];
            cell.customers += 1;
            cell.revenue += row.spent;
        }
        if let Some(t) = row.tier() {
            tiers[usize::from(t.code() - 1)].customers += 1;
            tiers[usize::from(t.code() - 1)].revenue += row.spent;
        }
        if let Some(c) = row.churn() {
            churn[usize::from(c.code() - 1)].customers += 1;
            churn[usize::from(c.code() - 1)].revenue += row.spent;
        }
        run.predicted_orders_365 += f64::from(row.orders_365);
        run.predicted_revenue_365 += f64::from(row.clv_365);
    }
    run.grid = grid;
    run.groups = groups;
    run.tiers = tiers;
    run.churn = churn;
}

/// Drops the days past keeping: every day of the last `KEEP_DAILY`, then each month's first
/// analysed day for `KEEP_MONTHLY` days.
fn prune(tx: &mut store::Tx, today: i32) -> Result<(), store::Error> {
    let days = tx.analysis_days()?;
    for day in days_to_drop(&days, today, KEEP_DAILY, KEEP_MONTHLY) {
        tx.delete_analysis_day(day)?;
    }
    for day in days.into_iter().filter(|d| today - d > 1) {
        tx.delete_meta(&changed_key(day))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_the_day_cache() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.1), 1.0);
        assert_eq!(percentile(&v, 0.7), 7.0);
        let mut days = DayCache::new(chrono_tz::Asia::Seoul);
        // 2026-11-03 23:30 in Seoul is 14:30 UTC; 00:30 the next day is 15:30 UTC.
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        let d1 = days.day(at("2026-11-03T14:30:00Z"));
        let d2 = days.day(at("2026-11-03T15:30:00Z"));
        assert_eq!(d2, d1 + 1);
        assert_eq!(day_date(d1).to_string(), "2026-11-03");
        assert_eq!(d1, local_day(at("2026-11-03T14:30:00Z"), chrono_tz::Asia::Seoul));
    }

    #[test]
    fn the_sample_hash_is_uniform_enough() {
        let n = 100_000;
        let below = (0..n).filter(|&i| unit_hash(i) < 0.25).count();
        assert!((24_000..26_000).contains(&below), "{below}");
    }
}
#[cfg(test)]
mod degenerate {
    use super::*;

    /// Data with almost no visible drop-out drives a and b into the millions (only a/(a+b) is
    /// identified); the predictions must stay finite and grow with the horizon.
    #[test]
    fn predictions_stay_finite_when_a_and_b_run_into_the_millions() {
        let histories = [(3.0, 60.0, 246.0), (2.0, 30.0, 413.0), (0.0, 0.0, 223.0)];
        let data: Vec<Rfm> = histories
            .iter()
            .map(|&(x, t_x, t)| Rfm {
                x,
                t_x,
                t,
                weight: 20.0,
            })
            .collect();
        let fit = BgNbd::fit(&data).unwrap();
        assert!(fit.model.a > 1e4, "the degenerate case: {fit:?}");
        for (x, t_x, t) in histories {
            let p = predict(&fit.model, x, t_x, t);
            assert!(p.p_alive.is_finite() && p.next_days.is_finite(), "{p:?}");
            assert!(p.orders.iter().all(|o| o.is_finite() && *o >= 0.0), "{p:?}");
            assert!(p.orders[0] <= p.orders[1] && p.orders[1] <= p.orders[2], "{p:?}");
        }
    }
}
