//! Scorecard weights learned from churn: how well each measure alone told apart the
//! customers who stayed from those who churned within the horizon, on the churn model's
//! own observations. A measure weighs what it separates (its AUC above a coin toss, times
//! the share of customers it has data for); one that separates nothing, or points the
//! wrong way, keeps the smallest weight. Offered to admins as a draft, never applied on
//! its own.

use serde::{Deserialize, Serialize};

use super::auc;
use crate::health::Scorecard;

/// The smallest weight a measure or group keeps (a scorecard's weights are above 0).
pub const MIN_WEIGHT: f64 = 1.0;

/// What one measure showed, and the weight it would get.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasureEvidence {
    pub id: String,
    pub label: String,
    pub group: String,
    /// Its AUC for staying (higher score, less churn), over observations with data.
    pub auc: Option<f64>,
    /// Share of observations with data for it.
    pub coverage: f64,
    pub weight: f64,
    pub suggested: f64,
}

/// Suggested weights for every group and measure of a scorecard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightSuggestion {
    /// The scorecard version the observations were scored with.
    pub version: i32,
    pub observations: u64,
    pub measures: Vec<MeasureEvidence>,
    /// Group id, current weight, suggested weight.
    pub groups: Vec<(String, f64, f64)>,
}

/// Learns weights for `card` from `rows`: each observation's normalised value per
/// measure (in the order of [`Scorecard::measures`], `None` without data) and whether the
/// customer churned within the horizon. Weights are out of 100 per group and overall.
pub fn suggest_weights(
    card: &Scorecard,
    version: i32,
    rows: &[(Vec<Option<f64>>, bool)],
) -> WeightSuggestion {
    let measures: Vec<_> = card.measures().collect();
    let n = rows.len().max(1) as f64;
    let mut evidence = Vec::with_capacity(measures.len());
    for (i, (group, m)) in measures.iter().enumerate() {
        let (scores, stayed): (Vec<f64>, Vec<bool>) = rows
            .iter()
            .filter_map(|(v, churned)| v.get(i).copied().flatten().map(|s| (s, !churned)))
            .unzip();
        evidence.push(MeasureEvidence {
            id: m.id.clone(),
            label: m.label.clone(),
            group: group.id.clone(),
            auc: auc(&scores, &stayed),
            coverage: scores.len() as f64 / n,
            weight: m.weight,
            suggested: 0.0,
        });
    }
    let signal = |e: &MeasureEvidence| e.auc.map_or(0.0, |a| (a - 0.5).max(0.0)) * e.coverage;
    let total: f64 = evidence.iter().map(signal).sum();
    let mut groups = Vec::new();
    for g in &card.groups {
        let in_group: f64 = evidence
            .iter()
            .filter(|e| e.group == g.id)
            .map(signal)
            .sum();
        for e in evidence.iter_mut().filter(|e| e.group == g.id) {
            let share = if in_group > 0.0 {
                signal(e) / in_group
            } else {
                0.0
            };
            e.suggested = (share * 100.0).round().max(MIN_WEIGHT);
        }
        let share = if total > 0.0 { in_group / total } else { 0.0 };
        groups.push((
            g.id.clone(),
            g.weight,
            (share * 100.0).round().max(MIN_WEIGHT),
        ));
    }
    WeightSuggestion {
        version,
        observations: rows.len() as u64,
        measures: evidence,
        groups,
    }
}

impl WeightSuggestion {
    /// `card` with the suggested weights (measures and groups matched by id; others
    /// keep theirs).
    pub fn apply(&self, card: &Scorecard) -> Scorecard {
        let mut out = card.clone();
        for g in &mut out.groups {
            if let Some((_, _, w)) = self.groups.iter().find(|(id, _, _)| *id == g.id) {
                g.weight = *w;
            }
            let group_id = g.id.clone();
            for m in &mut g.measures {
                if let Some(e) = self
                    .measures
                    .iter()
                    .find(|e| e.id == m.id && e.group == group_id)
                {
                    m.weight = e.suggested;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_what_each_measure_separates() {
        let card = Scorecard::default();
        let count = card.measures().count();
        let first = card.measures().next().unwrap().1.id.clone();
        // Only the first measure tells churners (low values) from stayers; the rest is
        // the same for everyone, or missing.
        let rows: Vec<(Vec<Option<f64>>, bool)> = (0..200)
            .map(|i| {
                let churned = i % 4 == 0;
                let mut v = vec![Some(50.0); count];
                v[0] = Some(if churned { 10.0 } else { 90.0 } + f64::from(i % 7));
                v[count - 1] = None;
                (v, churned)
            })
            .collect();
        let s = suggest_weights(&card, 3, &rows);
        assert_eq!(s.observations, 200);
        let m0 = s.measures.iter().find(|e| e.id == first).unwrap();
        assert_eq!(m0.auc, Some(1.0));
        assert_eq!(m0.suggested, 100.0);
        assert!(s
            .measures
            .iter()
            .filter(|e| e.id != first)
            .all(|e| e.suggested == MIN_WEIGHT));
        assert_eq!(s.measures.last().unwrap().coverage, 0.0);
        let usage = s.groups.iter().find(|g| g.0 == m0.group).unwrap();
        assert_eq!(usage.2, 100.0);
        // Applied, the card still validates: every weight stays above 0.
        let applied = s.apply(&card);
        assert!(applied.validate().is_ok());
        assert_eq!(applied.measures().next().unwrap().1.weight, 100.0);
    }
}
