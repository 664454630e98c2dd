//! Gradient-boosted trees as the churn model reads them: plain data, stored with the
//! model, walked here without the library that grew them (training is server-only; this
//! compiles everywhere). Each tree splits on the model's group values.
//!
//! The factors behind a tree prediction are Saabas contributions: along the path a
//! customer takes, each split's change in the node value is credited to the group it
//! split on. They add up, with the trees' root values, to the logit — so a factor reads
//! the same way as a logistic model's "weight × value".

use serde::{Deserialize, Serialize};

/// One node: a split (`value < threshold` goes left) or a leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    /// The group split on (unused at a leaf).
    pub group: usize,
    pub threshold: f64,
    pub left: usize,
    pub right: usize,
    /// Where a missing (NaN) value goes.
    pub missing: usize,
    /// The node's value on the log-odds scale (a leaf's is its output).
    pub value: f64,
    pub leaf: bool,
}

/// One tree; node 0 is the root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<TreeNode>,
}

impl Tree {
    /// The nodes visited by `u` (group values), root first, leaf last. Stops at a broken
    /// link rather than panicking (a stored model is checked by [`Tree::is_valid`]).
    fn path(&self, u: &[f64]) -> Vec<usize> {
        let mut path = Vec::new();
        let mut at = 0;
        while let Some(node) = self.nodes.get(at) {
            path.push(at);
            if node.leaf || path.len() > self.nodes.len() {
                break;
            }
            let v = u.get(node.group).copied().unwrap_or(f64::NAN);
            at = if v.is_nan() {
                node.missing
            } else if v < node.threshold {
                node.left
            } else {
                node.right
            };
        }
        path
    }

    /// The tree's output for `u`.
    pub fn output(&self, u: &[f64]) -> f64 {
        self.path(u).last().map_or(0.0, |&i| self.nodes[i].value)
    }

    /// Adds each split's change in value along `u`'s path to the group it split on.
    pub fn contribute(&self, u: &[f64], out: &mut [f64]) {
        let path = self.path(u);
        for pair in path.windows(2) {
            let (parent, child) = (&self.nodes[pair[0]], &self.nodes[pair[1]]);
            if let Some(c) = out.get_mut(parent.group) {
                *c += child.value - parent.value;
            }
        }
    }

    /// The root's value: what every customer starts from.
    pub fn root_value(&self) -> f64 {
        self.nodes.first().map_or(0.0, |n| n.value)
    }

    /// Every link points at a node, every split at one of `groups` groups.
    pub fn is_valid(&self, groups: usize) -> bool {
        let n = self.nodes.len();
        n > 0
            && self.nodes.iter().all(|node| {
                node.leaf
                    || (node.group < groups && node.left < n && node.right < n && node.missing < n)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(value: f64) -> TreeNode {
        TreeNode {
            group: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
            missing: 0,
            value,
            leaf: true,
        }
    }

    /// Splits on group 1 at 0.5, then (left) on group 0 at −1.
    fn stump() -> Tree {
        Tree {
            nodes: vec![
                TreeNode {
                    group: 1,
                    threshold: 0.5,
                    left: 1,
                    right: 2,
                    missing: 2,
                    value: 0.1,
                    leaf: false,
                },
                TreeNode {
                    group: 0,
                    threshold: -1.0,
                    left: 3,
                    right: 4,
                    missing: 4,
                    value: -0.2,
                    leaf: false,
                },
                leaf(0.6),
                leaf(-0.5),
                leaf(0.0),
            ],
        }
    }

    #[test]
    fn a_tree_walks_its_splits_and_credits_each_to_its_group() {
        let t = stump();
        assert!(t.is_valid(2));
        assert!(!t.is_valid(1), "a split on a group the model lacks");
        assert_eq!(t.output(&[0.0, 1.0]), 0.6);
        assert_eq!(t.output(&[-2.0, 0.0]), -0.5);
        assert_eq!(t.output(&[0.0, f64::NAN]), 0.6, "missing goes its own way");
        let mut c = vec![0.0; 2];
        t.contribute(&[-2.0, 0.0], &mut c);
        assert!(
            (c[1] - -0.3).abs() < 1e-12 && (c[0] - -0.3).abs() < 1e-12,
            "{c:?}"
        );
        // Contributions and the root add up to the output.
        assert!((t.root_value() + c.iter().sum::<f64>() - t.output(&[-2.0, 0.0])).abs() < 1e-12);
    }

    #[test]
    fn a_broken_tree_is_refused_not_followed() {
        let mut t = stump();
        t.nodes[0].left = 9;
        assert!(!t.is_valid(2));
        assert_eq!(t.output(&[-2.0, 0.0]), 0.1, "stops at the broken link");
        assert!(!Tree { nodes: vec![] }.is_valid(2));
    }
}
