//! Gradient-boosted trees, the forward test's second candidate, grown by `forust-ml`
//! (pure Rust, builds on stable; the crates weighed are in the README). They read the
//! same prepared group values as the logistic regression, so their factors name the same
//! groups; the grown trees are copied into the model's own [`Tree`]s, which predict
//! without the library.

use forust_ml::objective::ObjectiveType;
use forust_ml::{GradientBooster, Matrix};

use super::super::trees::{Tree, TreeNode};
use super::super::{ChurnModel, FeatureSpec, Observation, MODEL_VERSION};
use super::{prep, sample, TrainError, TrainOptions};

/// Trees grown. With the learning rate below, enough to fit the strong signals of a few
/// thousand customers without chasing noise (the forward test judges the result).
pub const TREES: usize = 100;
/// Shrinkage of each tree's output.
pub const LEARNING_RATE: f32 = 0.1;
/// Depth 3: interactions of up to three groups (usage low *and* young *and* small).
pub const MAX_DEPTH: usize = 3;
/// Smallest hessian sum a leaf may hold: at a 5 % churn rate, about 100 customers, so a
/// leaf speaks for a group, not for a handful of accounts.
pub const MIN_LEAF_WEIGHT: f32 = 5.0;

/// Fits trees on `rows` (a seeded sample of at most `opts.max_fit_rows`), the intercept
/// corrected for the sampling as the logistic fit's is. No calibration yet.
pub(super) fn fit(
    rows: &[&Observation],
    spec: &FeatureSpec,
    opts: &TrainOptions,
    seed: u64,
) -> Result<ChurnModel, TrainError> {
    let (rows, shift) = sample(rows, opts.max_fit_rows.max(2), seed);
    let labels: Vec<String> = spec.features().into_iter().map(|d| d.label).collect();
    let prepared = prep::Prepared::learn(&rows, &labels);
    let (n, g) = (rows.len(), prepared.groups.len());
    // forust reads a column-major matrix.
    let mut data = vec![0.0; n * g];
    for (i, r) in rows.iter().enumerate() {
        for (k, v) in prepared.inputs(&r.x).into_iter().enumerate() {
            data[k * n + i] = v;
        }
    }
    let y: Vec<f64> = rows
        .iter()
        .map(|r| f64::from(u8::from(r.churned)))
        .collect();
    let mut booster = GradientBooster::default()
        .set_objective_type(ObjectiveType::LogLoss)
        .set_iterations(TREES)
        .set_learning_rate(LEARNING_RATE)
        .set_max_depth(MAX_DEPTH)
        .set_min_leaf_weight(MIN_LEAF_WEIGHT)
        // One thread: the server's other work keeps the second core, and the result
        // doesn't depend on how rayon splits the sums.
        .set_parallel(false);
    booster.seed = seed;
    booster
        .fit_unweighted(&Matrix::new(&data, n, g), &y, None)
        .map_err(|e| TrainError::Fit(format!("boosted trees: {e}")))?;
    let trees = booster.trees.iter().map(copy_tree).collect::<Vec<_>>();
    if let Some(bad) = trees.iter().position(|t| !t.is_valid(g)) {
        return Err(TrainError::Fit(format!("boosted tree {bad} is malformed")));
    }
    Ok(ChurnModel {
        version: MODEL_VERSION,
        spec: spec.clone(),
        log: prepared.log,
        means: prepared.means,
        scales: prepared.scales,
        groups: prepared.groups,
        group_means: prepared.group_means,
        group_scales: prepared.group_scales,
        weights: vec![0.0; g],
        intercept: booster.base_score + shift,
        platt_a: -1.0,
        platt_b: 0.0,
        trees,
    })
}

/// A grown tree in the model's own shape: nodes by position, links by position (forust
/// numbers nodes in the order it grows them, and links by those numbers).
fn copy_tree(tree: &forust_ml::tree::Tree) -> Tree {
    let mut position = vec![usize::MAX; tree.nodes.iter().map(|n| n.num + 1).max().unwrap_or(0)];
    for (i, n) in tree.nodes.iter().enumerate() {
        position[n.num] = i;
    }
    let at = |num: usize| position.get(num).copied().unwrap_or(usize::MAX);
    Tree {
        nodes: tree
            .nodes
            .iter()
            .map(|n| TreeNode {
                group: n.split_feature,
                threshold: n.split_value,
                left: at(n.left_child),
                right: at(n.right_child),
                missing: at(n.missing_node),
                value: f64::from(n.weight_value),
                leaf: n.is_leaf,
            })
            .collect(),
    }
}
