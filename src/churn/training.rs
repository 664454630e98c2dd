//! Fitting the churn model (server only): stratified, customer-grouped cross-validation
//! to choose the regularisation and measure AUC, lift and calibration on predictions the
//! model never trained on; Platt scaling on those out-of-fold logits; then a final fit on
//! every observation.

use std::collections::{BTreeMap, BTreeSet};

use linfa::composing::platt_scaling::platt_newton_method;
use linfa::prelude::*;
use linfa::ParamGuard;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{
    auc, calibration, sigmoid, top_decile_lift, Backtest, ChurnModel, Coefficient, ModelMetrics,
    Observation, FEATURES, MIN_CHURNED,
};

/// Why no model came out.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
    /// Too little history to learn from.
    TooFewChurned { churned: usize, needed: usize },
    /// The solver failed (logged; the previous model stays).
    Fit(String),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::TooFewChurned { churned, needed } => write!(
                f,
                "{churned} churned customers in the history; a model needs at least {needed}"
            ),
            TrainError::Fit(e) => write!(f, "fitting failed: {e}"),
        }
    }
}

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    pub folds: u32,
    /// L2 penalties per observation to choose from by cross-validated AUC.
    pub lambdas: Vec<f64>,
    pub seed: u64,
    pub window_days: u32,
    /// Fewer churned customers than this and training refuses.
    pub min_churned: usize,
    /// Observations one fit learns from at most. Beyond it a fit keeps a seeded sample of
    /// each class (see [`sample_sizes`]) and corrects its intercept for the sampling, so its
    /// probabilities still speak for the whole set. Predictions and every metric still
    /// cover every observation.
    pub max_fit_rows: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            folds: 5,
            lambdas: vec![0.001, 0.01],
            seed: 7,
            window_days: 28,
            min_churned: MIN_CHURNED,
            max_fit_rows: MAX_FIT_ROWS,
        }
    }
}

/// The default [`TrainOptions::max_fit_rows`]. At 100,000 customers (300,000 observations)
/// the 17 fits of a training took 253 s on every row and 1 s with this cap. The slopes
/// learnt from a class-balanced sample of this size barely move (sampling on the label
/// leaves a logistic regression's slopes unbiased: only the intercept shifts, by the log
/// of the ratio of the two sampling rates).
pub const MAX_FIT_ROWS: usize = 20_000;

/// How many of each class a fit keeps: all when they fit within `cap`, else each class up
/// to half of it, and either one more when the other leaves room.
fn sample_sizes(positives: usize, negatives: usize, cap: usize) -> (usize, usize) {
    if positives + negatives <= cap {
        return (positives, negatives);
    }
    let half = cap / 2;
    let keep_pos = positives.min(half.max(cap.saturating_sub(negatives)));
    let keep_neg = negatives.min(cap - keep_pos);
    (keep_pos, keep_neg)
}

/// `rows` thinned to at most `cap` (seeded), and the log-odds correction to add to a
/// model fitted on the sample: ln(rate kept of the retained) − ln(rate kept of the
/// churned).
fn sample<'a>(rows: &[&'a Observation], cap: usize, seed: u64) -> (Vec<&'a Observation>, f64) {
    if rows.len() <= cap {
        return (rows.to_vec(), 0.0);
    }
    let (mut pos, mut neg): (Vec<&Observation>, Vec<&Observation>) =
        rows.iter().copied().partition(|o| o.churned);
    let (keep_pos, keep_neg) = sample_sizes(pos.len(), neg.len(), cap);
    let rate = |kept: usize, of: usize| kept as f64 / of.max(1) as f64;
    let shift = rate(keep_neg, neg.len()).ln() - rate(keep_pos, pos.len()).ln();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (pos, _) = pos.partial_shuffle(&mut rng, keep_pos);
    let (neg, _) = neg.partial_shuffle(&mut rng, keep_neg);
    (pos.iter().chain(neg.iter()).copied().collect(), shift)
}

/// A model and how well it did in cross-validation (the caller adds the health baseline
/// and the backtest).
#[derive(Clone, Debug, PartialEq)]
pub struct Trained {
    pub model: ChurnModel,
    pub metrics: ModelMetrics,
}

/// Distinct customers with at least one positive observation.
pub fn churned_customers(obs: &[Observation]) -> usize {
    obs.iter()
        .filter(|o| o.churned)
        .map(|o| o.customer_id)
        .collect::<BTreeSet<_>>()
        .len()
}

/// A fold per observation: customers (never single observations, so a customer's rows
/// never sit on both sides) dealt round-robin after a seeded shuffle, churned and
/// retained customers separately so every fold holds both.
fn assign_folds(obs: &[Observation], k: u32, seed: u64) -> Vec<usize> {
    let mut ever_churned: BTreeMap<i64, bool> = BTreeMap::new();
    for o in obs {
        *ever_churned.entry(o.customer_id).or_default() |= o.churned;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of: BTreeMap<i64, usize> = BTreeMap::new();
    for churned in [true, false] {
        let mut ids: Vec<i64> = ever_churned
            .iter()
            .filter(|(_, c)| **c == churned)
            .map(|(id, _)| *id)
            .collect();
        ids.shuffle(&mut rng);
        for (i, id) in ids.into_iter().enumerate() {
            fold_of.insert(id, i % k as usize);
        }
    }
    obs.iter().map(|o| fold_of[&o.customer_id]).collect()
}

/// Mean and standard deviation per feature (a constant feature gets scale 1).
fn moments(rows: &[&Observation]) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len().max(1) as f64;
    let mut means = vec![0.0; FEATURES.len()];
    for r in rows {
        for (m, v) in means.iter_mut().zip(&r.x) {
            *m += v / n;
        }
    }
    let mut scales = vec![0.0; FEATURES.len()];
    for r in rows {
        for ((s, v), m) in scales.iter_mut().zip(&r.x).zip(&means) {
            *s += (v - m).powi(2) / n;
        }
    }
    for s in &mut scales {
        *s = if *s > 1e-12 { s.sqrt() } else { 1.0 };
    }
    (means, scales)
}

/// Fits on `rows` (a sample of at most `opts.max_fit_rows`, seeded by `seed`): a model
/// without calibration (a = −1, b = 0: the plain sigmoid).
fn fit(
    rows: &[&Observation],
    lambda: f64,
    opts: &TrainOptions,
    seed: u64,
) -> Result<ChurnModel, TrainError> {
    let (rows, shift) = sample(rows, opts.max_fit_rows.max(2), seed);
    let rows = rows.as_slice();
    let (means, scales) = moments(rows);
    let n = rows.len();
    let mut x = Array2::<f64>::zeros((n, FEATURES.len()));
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in r.x.iter().enumerate() {
            x[[i, j]] = (v - means[j]) / scales[j];
        }
    }
    let y: Array1<bool> = rows.iter().map(|r| r.churned).collect();
    let fitted = LogisticRegression::default()
        .alpha(lambda * n as f64)
        .max_iterations(100)
        .gradient_tolerance(1e-4)
        .fit(&Dataset::new(x, y))
        .map_err(|e| TrainError::Fit(e.to_string()))?;
    // linfa models the class it saw first; make the positive class "churned".
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok(ChurnModel {
        features: FEATURES.iter().map(|f| f.id.to_string()).collect(),
        means,
        scales,
        weights: fitted.params().iter().map(|w| w * sign).collect(),
        intercept: fitted.intercept() * sign + shift,
        platt_a: -1.0,
        platt_b: 0.0,
        window_days: opts.window_days,
    })
}

/// Out-of-fold logits: each observation predicted by a model fitted without its customer.
fn out_of_fold(
    obs: &[Observation],
    folds: &[usize],
    k: u32,
    lambda: f64,
    opts: &TrainOptions,
) -> Result<Vec<f64>, TrainError> {
    let mut logits = vec![0.0; obs.len()];
    for fold in 0..k as usize {
        let train: Vec<&Observation> = obs
            .iter()
            .zip(folds)
            .filter(|(_, f)| **f != fold)
            .map(|(o, _)| o)
            .collect();
        let model = fit(
            &train,
            lambda,
            opts,
            opts.seed.wrapping_add(fold as u64 + 1),
        )?;
        for (i, o) in obs.iter().enumerate() {
            if folds[i] == fold {
                logits[i] = model.logit(&o.x);
            }
        }
    }
    Ok(logits)
}

/// Platt's (a, b) for `logits` against `labels`.
fn platt(logits: &[f64], labels: &[bool]) -> Result<(f64, f64), TrainError> {
    let params = linfa::composing::Platt::<f64, ()>::params()
        .check()
        .map_err(|e| TrainError::Fit(e.to_string()))?;
    let logits = Array1::from(logits.to_vec());
    let labels = Array1::from(labels.to_vec());
    platt_newton_method(logits.view(), labels.view(), &params)
        .map_err(|e| TrainError::Fit(e.to_string()))
}

/// Trains on `obs`: chooses the penalty by cross-validated AUC, calibrates on the
/// out-of-fold predictions, and fits the final model on everything.
///
/// # Errors
/// [`TrainError::TooFewChurned`] below `opts.min_churned`; solver failures.
pub fn train(obs: &[Observation], opts: &TrainOptions) -> Result<Trained, TrainError> {
    let churned = churned_customers(obs);
    let needed = opts.min_churned.max(opts.folds as usize);
    if churned < needed {
        return Err(TrainError::TooFewChurned { churned, needed });
    }
    let k = opts.folds.max(2);
    let folds = assign_folds(obs, k, opts.seed);
    let labels: Vec<bool> = obs.iter().map(|o| o.churned).collect();
    let mut best: Option<(f64, f64, Vec<f64>)> = None;
    for &lambda in &opts.lambdas {
        let logits = out_of_fold(obs, &folds, k, lambda, opts)?;
        let score = auc(&logits, &labels).unwrap_or(0.0);
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, lambda, logits));
        }
    }
    let Some((cv_auc, lambda, logits)) = best else {
        return Err(TrainError::Fit("no penalty to try".into()));
    };
    let (a, b) = platt(&logits, &labels)?;
    let calibrated: Vec<f64> = logits.iter().map(|l| sigmoid(-(a * l + b))).collect();
    let all: Vec<&Observation> = obs.iter().collect();
    let mut model = fit(&all, lambda, opts, opts.seed)?;
    model.platt_a = a;
    model.platt_b = b;
    let coefficients = FEATURES
        .iter()
        .zip(&model.weights)
        .map(|(f, w)| Coefficient {
            feature: f.id.into(),
            label: f.label.into(),
            weight: *w,
        })
        .collect();
    let metrics = ModelMetrics {
        cv_folds: k,
        cv_auc: Some(cv_auc),
        top_decile_lift: top_decile_lift(&logits, &labels),
        health_auc: None,
        calibration: calibration(&calibrated, &labels),
        coefficients,
        backtest: None,
        lambda,
        base_rate: labels.iter().filter(|l| **l).count() as f64 / labels.len().max(1) as f64,
    };
    Ok(Trained { model, metrics })
}

/// Churned customers a backtest's (smaller, older) history needs.
pub const BACKTEST_MIN_CHURNED: usize = 10;

/// [`train`], plus a backtest: what a model trained a horizon before the last observation
/// date (with the penalty chosen now) would have said that day, against who churned
/// within the horizon after it. No backtest when that older history is too thin.
///
/// # Errors
/// As [`train`].
pub fn train_with_backtest(
    obs: &[Observation],
    opts: &TrainOptions,
) -> Result<Trained, TrainError> {
    let mut trained = train(obs, opts)?;
    let last = obs.iter().map(|o| o.at).max();
    trained.metrics.backtest = last.and_then(|t| {
        let cutoff = t - chrono::Duration::days(super::HORIZON_DAYS);
        let history: Vec<Observation> = obs.iter().filter(|o| o.at <= cutoff).cloned().collect();
        let then: Vec<Observation> = obs.iter().filter(|o| o.at == t).cloned().collect();
        let opts = TrainOptions {
            min_churned: BACKTEST_MIN_CHURNED,
            lambdas: vec![trained.metrics.lambda],
            ..opts.clone()
        };
        backtest(
            &history,
            &then,
            &opts,
            t + chrono::Duration::days(super::HORIZON_DAYS),
        )
        .ok()
    });
    Ok(trained)
}

/// A backtest: a model trained on `history` (observations whose horizon ended by the
/// moment scored) predicts `then` (every customer at that moment, labelled with what
/// happened afterwards).
///
/// # Errors
/// As [`train`].
pub fn backtest(
    history: &[Observation],
    then: &[Observation],
    opts: &TrainOptions,
    until: chrono::NaiveDate,
) -> Result<Backtest, TrainError> {
    let trained = train(history, opts)?;
    let probabilities: Vec<f64> = then
        .iter()
        .map(|o| trained.model.probability(&o.x))
        .collect();
    let labels: Vec<bool> = then.iter().map(|o| o.churned).collect();
    let flagged: Vec<bool> = probabilities
        .iter()
        .map(|p| super::Risk::from_probability(*p) == super::Risk::High)
        .collect();
    Ok(Backtest {
        scored_on: then.first().map_or(until, |o| o.at),
        until,
        customers: then.len() as u64,
        churned: labels.iter().filter(|l| **l).count() as u64,
        auc: auc(&probabilities, &labels),
        lift: top_decile_lift(&probabilities, &labels),
        caught: flagged
            .iter()
            .zip(&labels)
            .filter(|(f, l)| **f && **l)
            .count() as u64,
        flagged: flagged.iter().filter(|f| **f).count() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rand::Rng;

    /// Customers whose churn follows falling usage (feature 1) and failing payments
    /// (feature 15), with noise everywhere else.
    fn synthetic(customers: i64, seed: u64) -> Vec<Observation> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let at = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut obs = Vec::new();
        for id in 0..customers {
            for k in 0..3 {
                let mut x = [0.0; FEATURES.len()];
                for v in &mut x {
                    *v = rng.gen_range(-1.0..1.0);
                }
                x[1] = rng.gen_range(-2.0..1.0);
                x[15] = f64::from(rng.gen_range(0..3));
                let risk = -2.5 - 1.8 * x[1] + 0.8 * x[15];
                let churned = rng.gen_bool(sigmoid(risk));
                obs.push(Observation {
                    customer_id: id,
                    at: at + chrono::Duration::days(14 * k),
                    x,
                    churned,
                });
            }
        }
        obs
    }

    #[test]
    fn learns_the_signal_and_says_how_well() {
        let obs = synthetic(600, 1);
        let trained = train(&obs, &TrainOptions::default()).unwrap();
        let m = &trained.metrics;
        assert!(m.cv_auc.unwrap() > 0.8, "{m:?}");
        assert!(m.top_decile_lift.unwrap() > 2.0, "{m:?}");
        // The two true drivers carry the largest weights, with the right signs.
        let w = &trained.model.weights;
        assert!(w[1] < -0.5 && w[15] > 0.3, "{w:?}");
        let biggest_other = w
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1 && *i != 15)
            .map(|(_, w)| w.abs())
            .fold(0.0, f64::max);
        assert!(biggest_other < w[1].abs() / 3.0, "{w:?}");
        // Calibrated: the predicted mean is close to the observed rate.
        let mean_p = obs
            .iter()
            .map(|o| trained.model.probability(&o.x))
            .sum::<f64>()
            / obs.len() as f64;
        assert!(
            (mean_p - m.base_rate).abs() < 0.03,
            "{mean_p} vs {}",
            m.base_rate
        );
    }

    #[test]
    fn a_fit_samples_each_class_within_the_cap() {
        assert_eq!(sample_sizes(100, 900, 2_000), (100, 900), "all fits");
        assert_eq!(
            sample_sizes(100, 9_900, 2_000),
            (100, 1_900),
            "every churned"
        );
        assert_eq!(
            sample_sizes(5_000, 5_000, 2_000),
            (1_000, 1_000),
            "half each"
        );
        assert_eq!(
            sample_sizes(9_900, 100, 2_000),
            (1_900, 100),
            "every retained"
        );
    }

    #[test]
    fn a_sampled_fit_keeps_the_slopes_and_corrects_its_intercept() {
        let obs = synthetic(4_000, 8);
        let rows: Vec<&Observation> = obs.iter().collect();
        let whole = TrainOptions {
            max_fit_rows: usize::MAX,
            ..TrainOptions::default()
        };
        let capped = TrainOptions {
            max_fit_rows: 3_000,
            ..TrainOptions::default()
        };
        let full = fit(&rows, 0.001, &whole, 1).unwrap();
        let (kept, shift) = sample(&rows, capped.max_fit_rows, 1);
        assert_eq!(kept.len(), 3_000);
        assert!(shift < -0.3, "retained rows were thinned more: {shift}");
        let sampled = fit(&rows, 0.001, &capped, 1).unwrap();
        assert!(
            (sampled.intercept - full.intercept).abs() < 0.25,
            "{} vs {}",
            sampled.intercept,
            full.intercept
        );
        assert!((sampled.weights[1] - full.weights[1]).abs() < 0.3);
        // Trained whole on a capped fit: still separates, and calibrated on every row.
        let trained = train(&obs, &capped).unwrap();
        assert!(
            trained.metrics.cv_auc.unwrap() > 0.8,
            "{:?}",
            trained.metrics
        );
        let mean_p = obs
            .iter()
            .map(|o| trained.model.probability(&o.x))
            .sum::<f64>()
            / obs.len() as f64;
        assert!((mean_p - trained.metrics.base_rate).abs() < 0.03);
    }

    #[test]
    fn refuses_with_too_few_churned_customers() {
        let obs: Vec<Observation> = synthetic(600, 2)
            .into_iter()
            .map(|mut o| {
                o.churned = o.churned && o.customer_id < 20;
                o
            })
            .collect();
        let churned = churned_customers(&obs);
        assert!(churned < MIN_CHURNED);
        assert_eq!(
            train(&obs, &TrainOptions::default()),
            Err(TrainError::TooFewChurned {
                churned,
                needed: MIN_CHURNED
            })
        );
    }

    #[test]
    fn folds_keep_customers_whole_and_spread_the_churned() {
        let obs = synthetic(200, 3);
        let folds = assign_folds(&obs, 5, 9);
        let mut fold_of = BTreeMap::new();
        for (o, f) in obs.iter().zip(&folds) {
            assert_eq!(*fold_of.entry(o.customer_id).or_insert(*f), *f);
        }
        for f in 0..5 {
            assert!(obs.iter().zip(&folds).any(|(o, g)| *g == f && o.churned));
        }
    }

    #[test]
    fn training_backtests_when_a_horizon_of_history_allows() {
        let recent = synthetic(600, 6);
        let alone = train_with_backtest(&recent, &TrainOptions::default()).unwrap();
        assert_eq!(alone.metrics.backtest, None, "all within one horizon");
        // The same customers observed again 100 days later: the earlier rows are history.
        let later = NaiveDate::from_ymd_opt(2026, 4, 11).unwrap();
        let mut obs = recent.clone();
        obs.extend(
            synthetic(600, 7)
                .into_iter()
                .map(|o| Observation { at: later, ..o }),
        );
        let both = train_with_backtest(&obs, &TrainOptions::default()).unwrap();
        let bt = both.metrics.backtest.expect("a backtest");
        assert_eq!(bt.scored_on, later);
        assert_eq!(bt.customers, 1800);
        assert!(bt.auc.unwrap() > 0.75, "{bt:?}");
    }

    #[test]
    fn backtest_scores_the_later_moment() {
        let obs = synthetic(600, 4);
        let then = synthetic(300, 5);
        let until = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let bt = backtest(&obs, &then, &TrainOptions::default(), until).unwrap();
        assert_eq!(bt.customers, 900);
        assert!(bt.auc.unwrap() > 0.75, "{bt:?}");
        assert!(bt.caught <= bt.flagged && bt.caught <= bt.churned);
    }
}
