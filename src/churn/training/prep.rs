//! Getting features ready for a linear model, learned from the training rows only: which
//! ratios between events to keep, which features to log (skewed, non-negative), their
//! scaling, and the groups of strongly correlated features that become one input each.

use super::super::{FeatureGroup, FeatureSpec, Observation};

/// Two events whose per-customer rates correlate at least this much are related: the
/// ratio of one to the other says something their volumes don't (errors per report).
pub const RATIO_MIN_CORRELATION: f64 = 0.4;

/// Most ratios a model reads.
pub const MAX_RATIOS: usize = 6;

/// Features correlated at least this much are read as one group.
pub const GROUP_CORRELATION: f64 = 0.65;

/// Non-negative features skewed more than this are logged before scaling.
pub const SKEW_TO_LOG: f64 = 2.0;

/// Rows read to measure correlations (a seeded thinning would change nothing material).
const CORRELATION_ROWS: usize = 20_000;

/// Pearson's correlation of two columns (0 when either is constant).
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (ma, mb) = (
        a[..n].iter().sum::<f64>() / n as f64,
        b[..n].iter().sum::<f64>() / n as f64,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa <= 1e-12 || sbb <= 1e-12 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Sample skewness (0 for a constant column).
pub fn skewness(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    if n < 3.0 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    if var <= 1e-12 {
        return 0.0;
    }
    v.iter().map(|x| (x - m).powi(3)).sum::<f64>() / n / var.powf(1.5)
}

/// Column `j` of `rows`, at most [`CORRELATION_ROWS`] of them (evenly spread).
fn column(rows: &[&Observation], j: usize) -> Vec<f64> {
    let step = rows.len().div_ceil(CORRELATION_ROWS).max(1);
    rows.iter().step_by(step).map(|r| r.x[j]).collect()
}

/// The spec's candidate ratios narrowed to the related pairs (the rates of both events
/// correlate at least [`RATIO_MIN_CORRELATION`] across the rows), most related first, at
/// most [`MAX_RATIOS`]; and the rows' values re-cut to the narrowed spec.
pub fn choose_ratios(spec: &FeatureSpec, obs: &[Observation]) -> (FeatureSpec, Vec<Observation>) {
    let defs = spec.features();
    let index = |id: &str| defs.iter().position(|d| d.id == id);
    let rows: Vec<&Observation> = obs.iter().collect();
    let rate = |e: &str| {
        index(&format!("event_rate:{e}")).map(|j| {
            column(&rows, j)
                .into_iter()
                .map(f64::ln_1p)
                .collect::<Vec<f64>>()
        })
    };
    let mut related: Vec<(f64, (String, String))> = spec
        .ratios
        .iter()
        .filter_map(|(a, b)| {
            let r = correlation(&rate(a)?, &rate(b)?);
            (r >= RATIO_MIN_CORRELATION).then(|| (r, (a.clone(), b.clone())))
        })
        .collect();
    related.sort_by(|x, y| y.0.total_cmp(&x.0));
    let narrowed = FeatureSpec {
        ratios: related
            .into_iter()
            .take(MAX_RATIOS)
            .map(|(_, p)| p)
            .collect(),
        ..spec.clone()
    };
    let keep: Vec<usize> = narrowed
        .features()
        .iter()
        .filter_map(|d| index(&d.id))
        .collect();
    let obs = obs
        .iter()
        .map(|o| Observation {
            x: keep.iter().map(|j| o.x[*j]).collect(),
            ..o.clone()
        })
        .collect();
    (narrowed, obs)
}

/// How rows become a model's inputs: per feature a log or not and a scaling, the groups,
/// and each group's scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub log: Vec<bool>,
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
    pub groups: Vec<FeatureGroup>,
    pub group_means: Vec<f64>,
    pub group_scales: Vec<f64>,
}

fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    (m, if var > 1e-12 { var.sqrt() } else { 1.0 })
}

impl Prepared {
    /// Learns transforms, scaling and groups from `rows`; `labels` are the features'
    /// labels, for the groups' names.
    pub fn learn(rows: &[&Observation], labels: &[String]) -> Prepared {
        let p = labels.len();
        let mut log = vec![false; p];
        let mut means = vec![0.0; p];
        let mut scales = vec![1.0; p];
        let mut z: Vec<Vec<f64>> = Vec::with_capacity(p);
        for j in 0..p {
            let raw = column(rows, j);
            let non_negative = raw.iter().all(|v| *v >= 0.0);
            log[j] = non_negative && skewness(&raw) > SKEW_TO_LOG;
            let all: Vec<f64> = rows
                .iter()
                .map(|r| {
                    if log[j] {
                        r.x[j].max(0.0).ln_1p()
                    } else {
                        r.x[j]
                    }
                })
                .collect();
            (means[j], scales[j]) = moments(&all);
            z.push(
                raw.iter()
                    .map(|v| {
                        let t = if log[j] { v.max(0.0).ln_1p() } else { *v };
                        (t - means[j]) / scales[j]
                    })
                    .collect(),
            );
        }
        let groups = group(&z, labels);
        // Each group's value on every row, for its scaling.
        let mut prepared = Prepared {
            log,
            means,
            scales,
            group_means: vec![0.0; groups.len()],
            group_scales: vec![1.0; groups.len()],
            groups,
        };
        let values: Vec<Vec<f64>> = rows.iter().map(|r| prepared.raw_groups(&r.x)).collect();
        for k in 0..prepared.groups.len() {
            let col: Vec<f64> = values.iter().map(|v| v[k]).collect();
            (prepared.group_means[k], prepared.group_scales[k]) = moments(&col);
        }
        prepared
    }

    /// Each group's mean standardised value for `x`, before the group's own scaling.
    fn raw_groups(&self, x: &[f64]) -> Vec<f64> {
        let z: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let t = if self.log[j] { v.max(0.0).ln_1p() } else { *v };
                (t - self.means[j]) / self.scales[j]
            })
            .collect();
        self.groups
            .iter()
            .map(|g| g.members.iter().map(|i| z[*i]).sum::<f64>() / g.members.len() as f64)
            .collect()
    }

    /// The model's inputs for `x`: each group's standardised value.
    pub fn inputs(&self, x: &[f64]) -> Vec<f64> {
        self.raw_groups(x)
            .iter()
            .zip(self.group_means.iter().zip(&self.group_scales))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }
}

/// Groups columns whose standardised values correlate at least [`GROUP_CORRELATION`]
/// with the group's first member and on average with the others. The most connected
/// column leads each group (the one correlated most with the rest of the portfolio's
/// features), so a group is named after what it is mostly about.
fn group(z: &[Vec<f64>], labels: &[String]) -> Vec<FeatureGroup> {
    let p = z.len();
    let mut corr = vec![vec![0.0; p]; p];
    for i in 0..p {
        corr[i][i] = 1.0;
        for j in i + 1..p {
            let r = correlation(&z[i], &z[j]);
            corr[i][j] = r;
            corr[j][i] = r;
        }
    }
    let connected = |i: usize| -> f64 {
        (0..p)
            .filter(|j| *j != i && corr[i][*j] >= GROUP_CORRELATION)
            .map(|j| corr[i][j])
            .sum()
    };
    let mut order: Vec<usize> = (0..p).collect();
    // Most connected first; ties in feature order, so grouping is deterministic.
    order.sort_by(|a, b| connected(*b).total_cmp(&connected(*a)).then(a.cmp(b)));
    let mut taken = vec![false; p];
    let mut groups = Vec::new();
    for &lead in &order {
        if taken[lead] {
            continue;
        }
        taken[lead] = true;
        let mut members = vec![lead];
        for &j in &order {
            if taken[j] || corr[lead][j] < GROUP_CORRELATION {
                continue;
            }
            let mean = members.iter().map(|m| corr[*m][j]).sum::<f64>() / members.len() as f64;
            if mean >= GROUP_CORRELATION * 0.8 {
                taken[j] = true;
                members.push(j);
            }
        }
        let label = match members.len() {
            1 => labels[lead].clone(),
            n => format!("{} (+{} related)", labels[lead], n - 1),
        };
        groups.push(FeatureGroup { members, label });
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn obs(x: Vec<f64>) -> Observation {
        Observation {
            customer_id: 1,
            at: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            x,
            churned: false,
            health: None,
        }
    }

    #[test]
    fn statistics() {
        assert!((correlation(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]) - 0.9985).abs() < 1e-3);
        assert_eq!(correlation(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
        assert!(skewness(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 100.0]) > 2.0);
        assert!(skewness(&[1.0, 2.0, 3.0, 4.0, 5.0]).abs() < 1e-9);
    }

    #[test]
    fn correlated_features_become_one_group_and_skewed_ones_are_logged() {
        // Columns 0 and 1 move together; 2 is independent; 3 is heavily skewed.
        let rows: Vec<Observation> = (0..200)
            .map(|i| {
                let a = f64::from(i % 17);
                let noise = f64::from((i * 7919) % 13);
                let skewed = if i % 50 == 0 {
                    1000.0
                } else {
                    f64::from(i % 3)
                };
                obs(vec![a, 2.0 * a + 0.1 * noise, noise, skewed])
            })
            .collect();
        let refs: Vec<&Observation> = rows.iter().collect();
        let labels: Vec<String> = ["a", "twice a", "noise", "skewed"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = Prepared::learn(&refs, &labels);
        assert_eq!(p.log, vec![false, false, false, true]);
        assert_eq!(p.groups.len(), 3, "{:?}", p.groups);
        let pair = p.groups.iter().find(|g| g.members.len() == 2).unwrap();
        let mut members = pair.members.clone();
        members.sort_unstable();
        assert_eq!(members, vec![0, 1]);
        assert!(pair.label.ends_with("(+1 related)"), "{}", pair.label);
        // Inputs are standardised: mean 0 over the training rows.
        let mean0 = refs.iter().map(|r| p.inputs(&r.x)[0]).sum::<f64>() / 200.0;
        assert!(mean0.abs() < 1e-9);
    }

    #[test]
    fn only_related_events_keep_their_ratio() {
        let spec = FeatureSpec {
            window_days: 28,
            events: vec!["a".into(), "b".into(), "c".into()],
            ratios: vec![("b".into(), "a".into()), ("c".into(), "a".into())],
            attributes: vec![],
        };
        let defs = spec.features();
        let at = |id: &str| defs.iter().position(|d| d.id == id).unwrap();
        let rows: Vec<Observation> = (0..100)
            .map(|i| {
                let mut x = vec![0.0; defs.len()];
                let a = f64::from(i % 20);
                x[at("event_rate:a")] = a;
                x[at("event_rate:b")] = a * 3.0 + f64::from(i % 2);
                x[at("event_rate:c")] = f64::from((i * 37) % 11);
                x[at("ratio:b/a")] = 0.5;
                x[at("ratio:c/a")] = 0.7;
                obs(x)
            })
            .collect();
        let (narrowed, cut) = choose_ratios(&spec, &rows);
        assert_eq!(narrowed.ratios, vec![("b".to_string(), "a".to_string())]);
        assert_eq!(cut[0].x.len(), narrowed.features().len());
        let ratio_at = narrowed
            .features()
            .iter()
            .position(|d| d.id == "ratio:b/a")
            .unwrap();
        assert_eq!(cut[0].x[ratio_at], 0.5);
    }
}
