//! How a split test did: each arm's goal rate against the holdout's, with the difference
//! and its 95 % confidence interval. Newcombe's hybrid score interval (his method 10,
//! built from two Wilson intervals) rather than the textbook Wald one: it stays inside
//! [−1, 1] and keeps its coverage with the small counts and rates near 0 or 1 that a
//! playbook's arms have in their first weeks.

use serde::{Deserialize, Serialize};

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Goal reached by `met` of `entered`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub entered: u64,
    pub met: u64,
}

impl Tally {
    pub fn rate(self) -> Option<f64> {
        (self.entered > 0).then(|| self.met.min(self.entered) as f64 / self.entered as f64)
    }
}

/// Wilson's score interval for a proportion.
fn wilson(t: Tally) -> Option<(f64, f64, f64)> {
    let p = t.rate()?;
    let n = t.entered as f64;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some((p, (centre - half).max(0.0), (centre + half).min(1.0)))
}

/// An arm against the holdout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub rate: f64,
    pub holdout_rate: f64,
    /// Arm minus holdout, in rate points (0.05 is 5 points).
    pub difference: f64,
    pub low: f64,
    pub high: f64,
}

impl Comparison {
    /// The interval excludes no difference.
    pub fn is_clear(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    /// In words: "+6.0 points (95 % CI +1.2 to +10.8)".
    pub fn text(&self) -> String {
        let pts = |v: f64| format!("{:+.1}", v * 100.0);
        format!(
            "{} points (95 % CI {} to {})",
            pts(self.difference),
            pts(self.low),
            pts(self.high)
        )
    }
}

/// The arm's goal rate against the holdout's; none while either is empty.
pub fn compare(arm: Tally, holdout: Tally) -> Option<Comparison> {
    let (p1, l1, u1) = wilson(arm)?;
    let (p2, l2, u2) = wilson(holdout)?;
    let d = p1 - p2;
    Some(Comparison {
        rate: p1,
        holdout_rate: p2,
        difference: d,
        low: d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        high: d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(met: u64, entered: u64) -> Tally {
        Tally { entered, met }
    }

    #[test]
    fn wilson_matches_the_published_values() {
        // Newcombe (1998), table I: 81/263 → 0.2553 to 0.3662.
        let (_, l, u) = wilson(t(81, 263)).unwrap();
        assert!(
            (l - 0.2553).abs() < 5e-4 && (u - 0.3662).abs() < 5e-4,
            "{l} {u}"
        );
        // 0/10 stays at 0 and doesn't collapse to a point.
        let (_, l, u) = wilson(t(0, 10)).unwrap();
        assert_eq!(l, 0.0);
        assert!((u - 0.2775).abs() < 5e-4, "{u}");
    }

    #[test]
    fn the_difference_interval_is_newcombes() {
        // Newcombe (1998), table II, example (a): 56/70 against 48/80 → 0.0524 to 0.3339.
        let c = compare(t(56, 70), t(48, 80)).unwrap();
        assert!((c.difference - 0.2).abs() < 1e-9);
        assert!(
            (c.low - 0.0524).abs() < 5e-4 && (c.high - 0.3339).abs() < 5e-4,
            "{c:?}"
        );
        assert!(c.is_clear());
        assert_eq!(c.text(), "+20.0 points (95 % CI +5.2 to +33.4)");
        // Small arms: wide, and not clear.
        let small = compare(t(3, 10), t(2, 10)).unwrap();
        assert!(
            !small.is_clear() && small.low > -1.0 && small.high < 1.0,
            "{small:?}"
        );
        assert_eq!(compare(t(0, 0), t(2, 10)), None);
    }
}
