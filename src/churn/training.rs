//! Fitting the churn model (server only). The features are prepared from the training
//! rows alone ([`prep`]: related-event ratios, logs of skewed features, scaling, groups
//! of correlated features). The penalty is chosen by a **forward test**: at validation
//! dates in the past, a model trained only on observations whose 90-day label was known
//! by then scores every customer, next to tenure alone and the health score — shuffled
//! folds would let a model learn from the future of the very months it is tested on.
//! Gradient-boosted trees ([`boost`]) are a second candidate in the same forward test,
//! chosen only when they rank clearly better: a linear model's factors are plainer.
//! Stratified, customer-grouped cross-validation then gives out-of-fold logits for Platt
//! calibration, and the final model is fitted on every observation.

mod boost;
mod prep;

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
    auc, calibration, sigmoid, top_decile_lift, Backtest, Candidate, ChurnModel, Coefficient,
    FeatureSpec, ForwardDate, ForwardTest, ModelMetrics, Observation, Ranking, Risk, HORIZON_DAYS,
    MIN_CHURNED, MODEL_VERSION, TENURE_INDEX,
};
pub use prep::{correlation, GROUP_CORRELATION, MAX_RATIOS, RATIO_MIN_CORRELATION};

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
    /// L2 penalties per observation to choose from by forward AUC.
    pub lambdas: Vec<f64>,
    /// Whether gradient-boosted trees compete in the forward test.
    pub boosted_trees: bool,
    pub seed: u64,
    /// Validation dates of the forward test, each this many days before the next.
    pub forward_step_days: i64,
    /// Most validation dates.
    pub forward_dates: usize,
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
            lambdas: vec![0.0003, 0.003, 0.03],
            boosted_trees: true,
            seed: 7,
            forward_step_days: 28,
            forward_dates: 3,
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

/// A model and how well it did (the caller adds the health baseline over every row).
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

/// Fits on `rows` (a sample of at most `opts.max_fit_rows`, seeded by `seed`): features
/// prepared from the sample, then an L2-regularised logistic regression on the groups.
/// No calibration yet (a = −1, b = 0: the plain sigmoid).
fn fit(
    rows: &[&Observation],
    spec: &FeatureSpec,
    lambda: f64,
    opts: &TrainOptions,
    seed: u64,
) -> Result<ChurnModel, TrainError> {
    let (rows, shift) = sample(rows, opts.max_fit_rows.max(2), seed);
    let rows = rows.as_slice();
    let labels: Vec<String> = spec.features().into_iter().map(|d| d.label).collect();
    let prepared = prep::Prepared::learn(rows, &labels);
    let g = prepared.groups.len();
    let n = rows.len();
    let mut x = Array2::<f64>::zeros((n, g));
    for (i, r) in rows.iter().enumerate() {
        for (k, v) in prepared.inputs(&r.x).into_iter().enumerate() {
            x[[i, k]] = v;
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
        version: MODEL_VERSION,
        spec: spec.clone(),
        log: prepared.log,
        means: prepared.means,
        scales: prepared.scales,
        groups: prepared.groups,
        group_means: prepared.group_means,
        group_scales: prepared.group_scales,
        weights: fitted.params().iter().map(|w| w * sign).collect(),
        intercept: fitted.intercept() * sign + shift,
        platt_a: -1.0,
        platt_b: 0.0,
        trees: Vec::new(),
    })
}

/// Trees are chosen over the logistic regression only when their mean forward AUC is at
/// least this much higher: on a tie the linear model's plainer factors win.
pub const TREES_MARGIN: f64 = 0.01;

/// A way of fitting the model.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Algorithm {
    /// L2-regularised logistic regression with this penalty per observation.
    Logistic(f64),
    BoostedTrees,
}

impl Algorithm {
    fn name(self) -> String {
        match self {
            Algorithm::Logistic(lambda) => format!("Logistic regression, penalty {lambda}"),
            Algorithm::BoostedTrees => format!(
                "Gradient-boosted trees ({} of depth {})",
                boost::TREES,
                boost::MAX_DEPTH
            ),
        }
    }

    fn fit(
        self,
        rows: &[&Observation],
        spec: &FeatureSpec,
        opts: &TrainOptions,
        seed: u64,
    ) -> Result<ChurnModel, TrainError> {
        match self {
            Algorithm::Logistic(lambda) => fit(rows, spec, lambda, opts, seed),
            Algorithm::BoostedTrees => boost::fit(rows, spec, opts, seed),
        }
    }
}

/// Out-of-fold logits: each observation predicted by a model fitted without its customer.
fn out_of_fold(
    obs: &[Observation],
    spec: &FeatureSpec,
    folds: &[usize],
    k: u32,
    algorithm: Algorithm,
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
        let model = algorithm.fit(&train, spec, opts, opts.seed.wrapping_add(fold as u64 + 1))?;
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

/// Churned customers a validation date's (smaller, older) history needs.
pub const FORWARD_MIN_CHURNED: usize = 10;

/// One validation date: who is scored then, and what was known by then.
struct Split<'a> {
    at: chrono::NaiveDate,
    history: Vec<&'a Observation>,
    then: Vec<&'a Observation>,
}

/// The forward test's validation dates, latest first: the last observation date and
/// every `forward_step_days` before it, while the history known by then (observations
/// whose horizon ended by the date) holds enough churned customers and the date's
/// customers both churned and stayed.
fn forward_splits<'a>(obs: &'a [Observation], opts: &TrainOptions) -> Vec<Split<'a>> {
    let Some(last) = obs.iter().map(|o| o.at).max() else {
        return Vec::new();
    };
    let mut splits = Vec::new();
    for k in 0..opts.forward_dates {
        let at = last - chrono::Duration::days(opts.forward_step_days * k as i64);
        let cutoff = at - chrono::Duration::days(HORIZON_DAYS);
        let history: Vec<&Observation> = obs.iter().filter(|o| o.at <= cutoff).collect();
        let then: Vec<&Observation> = obs.iter().filter(|o| o.at == at).collect();
        let churned_then = then.iter().filter(|o| o.churned).count();
        let known: BTreeSet<i64> = history
            .iter()
            .filter(|o| o.churned)
            .map(|o| o.customer_id)
            .collect();
        if known.len() < FORWARD_MIN_CHURNED || churned_then == 0 || churned_then == then.len() {
            break;
        }
        splits.push(Split { at, history, then });
    }
    splits
}

/// Tenure alone, as a one-feature model would rank: longer or shorter tenure riskier,
/// whichever the history says.
fn tenure_scores(history: &[&Observation], then: &[&Observation]) -> Vec<f64> {
    let t: Vec<f64> = history.iter().map(|o| o.x[TENURE_INDEX]).collect();
    let y: Vec<f64> = history
        .iter()
        .map(|o| f64::from(u8::from(o.churned)))
        .collect();
    let direction = if correlation(&t, &y) < 0.0 { -1.0 } else { 1.0 };
    then.iter().map(|o| direction * o.x[TENURE_INDEX]).collect()
}

/// A forward test, and its latest date as a backtest.
type Forward = (ForwardTest, Option<Backtest>);

/// How a model fitted by `algorithm`, tenure alone and the health score ranked each
/// split's customers.
fn forward_test(
    splits: &[Split<'_>],
    spec: &FeatureSpec,
    algorithm: Algorithm,
    opts: &TrainOptions,
) -> Result<Forward, TrainError> {
    let mut dates = Vec::new();
    let mut backtest = None;
    for (i, s) in splits.iter().enumerate() {
        let model = algorithm.fit(
            &s.history,
            spec,
            opts,
            opts.seed.wrapping_add(100 + i as u64),
        )?;
        let labels: Vec<bool> = s.then.iter().map(|o| o.churned).collect();
        let p: Vec<f64> = s.then.iter().map(|o| model.probability(&o.x)).collect();
        let health: Vec<f64> = s.then.iter().map(|o| -o.health.unwrap_or(50.0)).collect();
        if i == 0 {
            let flagged: Vec<bool> = p
                .iter()
                .map(|p| Risk::from_probability(*p) == Risk::High)
                .collect();
            backtest = Some(Backtest {
                scored_on: s.at,
                until: s.at + chrono::Duration::days(HORIZON_DAYS),
                customers: s.then.len() as u64,
                churned: labels.iter().filter(|l| **l).count() as u64,
                auc: auc(&p, &labels),
                lift: top_decile_lift(&p, &labels),
                caught: flagged
                    .iter()
                    .zip(&labels)
                    .filter(|(f, l)| **f && **l)
                    .count() as u64,
                flagged: flagged.iter().filter(|f| **f).count() as u64,
            });
        }
        dates.push(ForwardDate {
            at: s.at,
            trained_on: s.history.len() as u64,
            customers: s.then.len() as u64,
            churned: labels.iter().filter(|l| **l).count() as u64,
            model: Ranking::of(&p, &labels),
            tenure: Ranking::of(&tenure_scores(&s.history, &s.then), &labels),
            health: Ranking::of(&health, &labels),
        });
    }
    let test = ForwardTest {
        model: Ranking::mean(dates.iter().map(|d| &d.model)),
        tenure: Ranking::mean(dates.iter().map(|d| &d.tenure)),
        health: Ranking::mean(dates.iter().map(|d| &d.health)),
        dates,
    };
    Ok((test, backtest))
}

/// Trains on `obs` (values of `spec`'s features): narrows the spec's ratios to related
/// events, chooses the penalty by the forward test (by cross-validated AUC when the
/// history is too short for one), calibrates on out-of-fold predictions, and fits the
/// final model on everything.
///
/// # Errors
/// [`TrainError::TooFewChurned`] below `opts.min_churned`; solver failures.
pub fn train(
    obs: &[Observation],
    spec: &FeatureSpec,
    opts: &TrainOptions,
) -> Result<Trained, TrainError> {
    let churned = churned_customers(obs);
    let needed = opts.min_churned.max(opts.folds as usize);
    if churned < needed {
        return Err(TrainError::TooFewChurned { churned, needed });
    }
    let (spec, obs) = prep::choose_ratios(spec, obs);
    let obs = obs.as_slice();
    let k = opts.folds.max(2);
    let folds = assign_folds(obs, k, opts.seed);
    let labels: Vec<bool> = obs.iter().map(|o| o.churned).collect();
    let splits = forward_splits(obs, opts);

    // The penalty: best mean forward AUC; without validation dates, best CV AUC. Then
    // trees, in the forward test only, if they clearly beat the best penalty.
    let mut tried: Vec<(Algorithm, f64, Option<Forward>)> = Vec::new();
    for &lambda in &opts.lambdas {
        let algorithm = Algorithm::Logistic(lambda);
        if splits.is_empty() {
            let logits = out_of_fold(obs, &spec, &folds, k, algorithm, opts)?;
            tried.push((algorithm, auc(&logits, &labels).unwrap_or(0.0), None));
        } else {
            let f = forward_test(&splits, &spec, algorithm, opts)?;
            tried.push((algorithm, f.0.model.auc.unwrap_or(0.0), Some(f)));
        }
    }
    let best_linear = (0..tried.len())
        .reduce(|b, i| if tried[i].1 > tried[b].1 { i } else { b })
        .ok_or_else(|| TrainError::Fit("no penalty to try".into()))?;
    let mut chosen = best_linear;
    if opts.boosted_trees && !splits.is_empty() {
        let f = forward_test(&splits, &spec, Algorithm::BoostedTrees, opts)?;
        let score = f.0.model.auc.unwrap_or(0.0);
        tried.push((Algorithm::BoostedTrees, score, Some(f)));
        if score >= tried[best_linear].1 + TREES_MARGIN {
            chosen = tried.len() - 1;
        }
    }
    let candidates: Vec<Candidate> = tried
        .iter()
        .enumerate()
        .filter_map(|(i, (algorithm, _, f))| {
            f.as_ref().map(|(f, _)| Candidate {
                name: algorithm.name(),
                forward: f.model,
                chosen: i == chosen,
            })
        })
        .collect();
    let (algorithm, _, forward) = tried.swap_remove(chosen);
    let logits = out_of_fold(obs, &spec, &folds, k, algorithm, opts)?;
    let (a, b) = platt(&logits, &labels)?;
    let calibrated: Vec<f64> = logits.iter().map(|l| sigmoid(-(a * l + b))).collect();
    let all: Vec<&Observation> = obs.iter().collect();
    let mut model = algorithm.fit(&all, &spec, opts, opts.seed)?;
    model.platt_a = a;
    model.platt_b = b;
    let mut coefficients = coefficients(&model, obs);
    coefficients.sort_by(|x, y| y.weight.abs().total_cmp(&x.weight.abs()));
    let lambda = match algorithm {
        Algorithm::Logistic(lambda) => lambda,
        Algorithm::BoostedTrees => 0.0,
    };
    let health: Vec<f64> = obs.iter().map(|o| -o.health.unwrap_or(50.0)).collect();
    let chosen_by = if forward.is_some() {
        "forward test"
    } else {
        "cross-validation"
    };
    let (forward, backtest) = forward.map_or((None, None), |(f, b)| (Some(f), b));
    let metrics = ModelMetrics {
        cv_folds: k,
        cv_auc: auc(&logits, &labels),
        top_decile_lift: top_decile_lift(&logits, &labels),
        health_auc: auc(&health, &labels),
        calibration: calibration(&calibrated, &labels),
        coefficients,
        backtest,
        lambda,
        base_rate: labels.iter().filter(|l| **l).count() as f64 / labels.len().max(1) as f64,
        forward,
        chosen_by: chosen_by.into(),
        suggested_weights: None,
        algorithm: algorithm.name(),
        candidates,
    };
    Ok(Trained { model, metrics })
}

/// What the model weighs, per group. A logistic model's weights; for trees, each group's
/// mean push on the logit across `obs` (mean absolute contribution), signed by whether
/// its higher values push up (contributions rising with the value) or down.
fn coefficients(model: &ChurnModel, obs: &[Observation]) -> Vec<Coefficient> {
    let defs = model.spec.features();
    let weights = if model.trees.is_empty() {
        model.weights.clone()
    } else {
        let g = model.groups.len();
        let (mut values, mut pushes) = (vec![Vec::new(); g], vec![Vec::new(); g]);
        let step = obs.len().div_ceil(MAX_FIT_ROWS).max(1);
        for o in obs.iter().step_by(step) {
            let u = model.group_values(&model.standardised(&o.x));
            for (k, c) in model.group_impacts(&u).into_iter().enumerate() {
                values[k].push(u[k]);
                pushes[k].push(c);
            }
        }
        values
            .iter()
            .zip(&pushes)
            .map(|(v, c)| {
                let size = c.iter().map(|c| c.abs()).sum::<f64>() / c.len().max(1) as f64;
                if correlation(v, c) < 0.0 {
                    -size
                } else {
                    size
                }
            })
            .collect()
    };
    model
        .groups
        .iter()
        .zip(weights)
        .map(|(g, weight)| Coefficient {
            feature: defs[g.members[0]].id.clone(),
            label: g.label.clone(),
            weight,
            members: g.members.iter().map(|m| defs[*m].label.clone()).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rand::Rng;

    fn spec() -> FeatureSpec {
        FeatureSpec::base(28)
    }

    /// Customers whose churn follows falling usage (feature 1) and failing payments
    /// (feature 15), with noise everywhere else.
    fn synthetic(customers: i64, seed: u64) -> Vec<Observation> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let at = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut obs = Vec::new();
        for id in 0..customers {
            for k in 0..3 {
                let mut x = vec![0.0; super::super::FEATURES.len()];
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
                    health: None,
                });
            }
        }
        obs
    }

    #[test]
    fn learns_the_signal_and_says_how_well() {
        let obs = synthetic(600, 1);
        let trained = train(&obs, &spec(), &TrainOptions::default()).unwrap();
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
        let full = fit(&rows, &spec(), 0.001, &whole, 1).unwrap();
        let (kept, shift) = sample(&rows, capped.max_fit_rows, 1);
        assert_eq!(kept.len(), 3_000);
        assert!(shift < -0.3, "retained rows were thinned more: {shift}");
        let sampled = fit(&rows, &spec(), 0.001, &capped, 1).unwrap();
        assert!(
            (sampled.intercept - full.intercept).abs() < 0.25,
            "{} vs {}",
            sampled.intercept,
            full.intercept
        );
        assert!((sampled.weights[1] - full.weights[1]).abs() < 0.3);
        // Trained whole on a capped fit: still separates, and calibrated on every row.
        let trained = train(&obs, &spec(), &capped).unwrap();
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
            train(&obs, &spec(), &TrainOptions::default()),
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

    /// Customers observed every 14 days over 300 days: churn follows feature 1 and
    /// (weakly) short tenure; the health score half-knows feature 1.
    fn history(customers: i64, seed: u64) -> Vec<Observation> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut obs = Vec::new();
        for id in 0..customers {
            let tenure0: f64 = rng.gen_range(0.0..6.0);
            for k in 0..22 {
                let mut x = vec![0.0; super::super::FEATURES.len()];
                for v in &mut x {
                    *v = rng.gen_range(-1.0..1.0);
                }
                x[1] = rng.gen_range(-2.0..1.0);
                x[TENURE_INDEX] = tenure0 + 0.1 * f64::from(k);
                let risk = -2.8 - 1.6 * x[1] - 0.15 * x[TENURE_INDEX];
                obs.push(Observation {
                    customer_id: id,
                    at: start + chrono::Duration::days(14 * i64::from(k)),
                    health: Some(50.0 + 10.0 * x[1] + rng.gen_range(-15.0..15.0)),
                    x,
                    churned: rng.gen_bool(sigmoid(risk)),
                });
            }
        }
        obs
    }

    #[test]
    fn the_forward_test_learns_only_what_was_known_and_beats_the_baselines() {
        let obs = history(500, 11);
        let trained = train(&obs, &spec(), &TrainOptions::default()).unwrap();
        let m = &trained.metrics;
        assert_eq!(m.chosen_by, "forward test");
        let f = m.forward.as_ref().expect("a forward test");
        assert_eq!(f.dates.len(), 3);
        let last = obs.iter().map(|o| o.at).max().unwrap();
        assert_eq!(f.dates[0].at, last);
        for d in &f.dates {
            let known = obs
                .iter()
                .filter(|o| o.at + chrono::Duration::days(HORIZON_DAYS) <= d.at)
                .count() as u64;
            assert_eq!(d.trained_on, known, "only labels known by {}", d.at);
            assert_eq!(d.customers, 500);
        }
        assert!(f.model.auc.unwrap() > f.tenure.auc.unwrap() + 0.1, "{f:?}");
        assert!(f.model.auc.unwrap() > f.health.auc.unwrap(), "{f:?}");
        assert!(f.health.auc.unwrap() > 0.55, "{f:?}");
        // A linear signal: the trees don't beat the logistic regression clearly.
        assert!(m.algorithm.starts_with("Logistic"), "{:?}", m.candidates);
        assert!(trained.model.trees.is_empty());
        assert_eq!(m.candidates.len(), 4, "three penalties and the trees");
        assert_eq!(m.candidates.iter().filter(|c| c.chosen).count(), 1);
        let bt = m.backtest.as_ref().unwrap();
        assert_eq!(bt.scored_on, last);
        assert!(bt.caught <= bt.flagged && bt.caught <= bt.churned);
    }

    /// Churn only where feature 1 is extreme *and* feature 15 high: a bump and an
    /// interaction, which no weighted sum draws.
    fn interacting(customers: i64, seed: u64) -> Vec<Observation> {
        let mut obs = history(customers, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
        for o in &mut obs {
            o.x[1] = rng.gen_range(-2.0..2.0);
            o.x[15] = f64::from(rng.gen_range(0..3));
            let hot = o.x[1].abs() > 1.2 && o.x[15] >= 1.0;
            o.churned = rng.gen_bool(if hot { 0.45 } else { 0.03 });
        }
        obs
    }

    #[test]
    fn trees_are_chosen_when_they_rank_clearly_better_and_explain_themselves() {
        let obs = interacting(400, 21);
        let trained = train(&obs, &spec(), &TrainOptions::default()).unwrap();
        let m = &trained.metrics;
        assert!(
            m.algorithm.starts_with("Gradient-boosted"),
            "{:?}",
            m.candidates
        );
        let model = &trained.model;
        assert!(model.is_compatible() && !model.trees.is_empty());
        let trees = m.candidates.iter().find(|c| c.chosen).unwrap();
        let best_linear = m
            .candidates
            .iter()
            .filter(|c| !c.chosen)
            .map(|c| c.forward.auc.unwrap())
            .fold(0.0, f64::max);
        assert!(
            trees.forward.auc.unwrap() >= best_linear + TREES_MARGIN,
            "{:?}",
            m.candidates
        );
        assert!(m.cv_auc.unwrap() > 0.75, "{m:?}");
        // A hot customer: the group holding feature 1 pushes hardest towards churn.
        let hot = obs.iter().find(|o| o.x[1] > 1.6 && o.x[15] >= 2.0).unwrap();
        let u = model.group_values(&model.standardised(&hot.x));
        let impacts = model.group_impacts(&u);
        let top = (0..impacts.len())
            .max_by(|a, b| impacts[*a].total_cmp(&impacts[*b]))
            .unwrap();
        assert!(
            model.groups[top].members.contains(&1) || model.groups[top].members.contains(&15),
            "{:?}",
            model.groups[top]
        );
        // Contributions and roots add up to the logit.
        let roots: f64 = model.trees.iter().map(|t| t.root_value()).sum();
        let sum = model.intercept + roots + impacts.iter().sum::<f64>();
        assert!((sum - model.logit(&hot.x)).abs() < 1e-6);
        // Stored and read back, it predicts the same.
        let json = serde_json::to_string(model).unwrap();
        let back: ChurnModel = serde_json::from_str(&json).unwrap();
        assert_eq!(back.probability(&hot.x), model.probability(&hot.x));
        // The model page's weights: the two drivers lead.
        let leaders: Vec<&str> = m
            .coefficients
            .iter()
            .take(2)
            .map(|c| c.feature.as_str())
            .collect();
        assert!(
            leaders.contains(&"events_change") || leaders.contains(&"payment"),
            "{leaders:?}"
        );
    }

    #[test]
    fn a_short_history_chooses_by_cross_validation() {
        let obs = synthetic(600, 6);
        let trained = train(&obs, &spec(), &TrainOptions::default()).unwrap();
        assert_eq!(trained.metrics.forward, None);
        assert_eq!(trained.metrics.chosen_by, "cross-validation");
        assert!(trained.metrics.cv_auc.unwrap() > 0.75);
    }
}
