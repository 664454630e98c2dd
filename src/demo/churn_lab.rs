//! A portfolio whose churn is driven by what customers do — for validating the churn
//! model and the health score the way a new user would: imported through the customers
//! and product-events CSVs, trained, and measured forward.
//!
//! Each customer has an engagement that drifts week to week and a frustration of its
//! own. Engaged customers create reports and sign in more; frustrated ones see more
//! errors; page views are noise. Every week a live customer churns with a probability
//! that falls with engagement, rises with frustration, and falls with tenure (young
//! accounts leave most). So the kind of event matters — errors raise churn, reports
//! lower it — volume alone is a blurred view, and tenure alone knows only part of it.

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabConfig {
    pub customers: usize,
    /// Days of history before `today`.
    pub days: i64,
    pub today: NaiveDate,
    pub seed: u64,
}

/// The generated portfolio as files a user would import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabPortfolio {
    /// A customers CSV (monthly billing, a sales channel attribute, churn dates).
    pub customers_csv: String,
    /// Product-events CSVs, each within the import's row limit.
    pub events_csvs: Vec<String>,
    pub churned: usize,
    pub events: usize,
}

/// Events per file.
const EVENTS_PER_FILE: usize = 90_000;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    // Knuth's method: fine for the small weekly means used here.
    let limit = (-mean.min(30.0)).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.gen_range(0.0..1.0);
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Generates the portfolio (deterministic for a config).
pub fn generate(config: &LabConfig) -> LabPortfolio {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let first_day = config.today - Duration::days(config.days);
    let mut customers = String::from(
        "name,external_id,stage,mrr,seats,contract_start,churned_on,billing_period,attr.channel\n",
    );
    let mut events: Vec<String> = Vec::new();
    let mut churned = 0;
    for i in 0..config.customers {
        let external_id = format!("lab_{:04}", i + 1);
        // Starts spread over the history (some before it), so tenures vary.
        let start = first_day + Duration::days(rng.gen_range(-120..config.days - 30));
        let channel = if rng.gen_bool(0.5) {
            "partner"
        } else {
            "direct"
        };
        let mut engagement = normal(&mut rng);
        let frustration = normal(&mut rng);
        let users = rng.gen_range(1..=4);
        let mut churned_on = None;
        let mut week = 0_i64;
        loop {
            let week_start = start + Duration::weeks(week);
            if week_start >= config.today {
                break;
            }
            engagement = 0.97 * engagement + 0.2 * normal(&mut rng);
            let weeks_old = week as f64;
            let hazard = sigmoid(
                -3.6 - 1.2 * engagement + 1.0 * frustration - 0.45 * (1.0 + weeks_old).ln(),
            );
            if week_start >= first_day {
                for (name, mean) in [
                    ("Report Created", 1.2 * (0.9 * engagement).exp()),
                    ("Signed In", 2.0 * (0.6 * engagement).exp()),
                    ("Error Shown", 0.5 * (1.0 * frustration).exp()),
                    ("Page Viewed", 1.0),
                ] {
                    for _ in 0..poisson(&mut rng, mean) {
                        let at = week_start.and_hms_opt(0, 0, 0).unwrap_or_default()
                            + Duration::minutes(rng.gen_range(0..7 * 24 * 60));
                        if at.date() >= config.today {
                            continue;
                        }
                        events.push(format!(
                            "{external_id},{name},{},u{}_{}",
                            at.format("%Y-%m-%dT%H:%M:%SZ"),
                            i + 1,
                            rng.gen_range(0..users)
                        ));
                    }
                }
            }
            if rng.gen_bool(hazard) {
                let day = week_start + Duration::days(rng.gen_range(1..7));
                if day < config.today {
                    churned_on = Some(day);
                }
                break;
            }
            week += 1;
        }
        // A customer that left before the history began is no part of it.
        if churned_on.is_some_and(|d| d < first_day + Duration::days(7)) {
            continue;
        }
        let (stage, churned_text) = match churned_on {
            Some(d) => {
                churned += 1;
                ("churned", d.to_string())
            }
            None => ("active", String::new()),
        };
        customers.push_str(&format!(
            "Lab customer {},{external_id},{stage},{},{users},{start},{churned_text},monthly,{channel}\n",
            i + 1,
            rng.gen_range(50..500),
        ));
    }
    // Events go with their customers only (skipped ones left nothing to import).
    let known: std::collections::HashSet<&str> = customers
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    let kept: Vec<&String> = events
        .iter()
        .filter(|e| e.split(',').next().is_some_and(|x| known.contains(x)))
        .collect();
    let events_csvs = kept
        .chunks(EVENTS_PER_FILE)
        .map(|chunk| {
            let mut file = String::from("customer_external_id,event,occurred_at,user_id\n");
            for e in chunk {
                file.push_str(e);
                file.push('\n');
            }
            file
        })
        .collect();
    LabPortfolio {
        customers_csv: customers,
        events_csvs,
        churned,
        events: kept.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lab_is_deterministic_and_churns() {
        let config = LabConfig {
            customers: 200,
            days: 300,
            today: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            seed: 3,
        };
        let a = generate(&config);
        assert_eq!(a, generate(&config));
        assert!(a.churned > 20 && a.churned < 180, "{}", a.churned);
        assert!(a.events > 5_000, "{}", a.events);
        assert!(a.customers_csv.lines().count() > 150);
        assert!(a
            .events_csvs
            .iter()
            .all(|f| f.lines().count() <= EVENTS_PER_FILE + 1));
    }
}
