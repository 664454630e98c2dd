//! Portfolio figures for the dashboard: counts by stage and tier, MRR and ARR.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::customers::{Stage, Tier};

/// What the summary needs to know about one (non-archived) customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerFacts {
    pub stage: Stage,
    pub tier: Tier,
    pub mrr_minor: i64,
    pub currency: String,
}

/// Recurring revenue in one currency. Currencies are never added together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revenue {
    pub currency: String,
    pub mrr_minor: i64,
    pub arr_minor: i64,
    /// Paying customers contributing to it.
    pub customers: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioSummary {
    /// Every non-archived customer, churned included.
    pub total: u64,
    /// Customers not churned.
    pub live: u64,
    pub churned: u64,
    pub by_stage: Vec<(Stage, u64)>,
    /// Live customers by tier.
    pub by_tier: Vec<(Tier, u64)>,
    /// Revenue of live customers, largest currency first.
    pub revenue: Vec<Revenue>,
}

/// Summarises the portfolio. Churned customers count in `by_stage` but not in revenue.
pub fn summarize(facts: &[CustomerFacts]) -> PortfolioSummary {
    let mut s = PortfolioSummary {
        by_stage: Stage::ALL.iter().map(|st| (*st, 0)).collect(),
        by_tier: Tier::ALL.iter().map(|t| (*t, 0)).collect(),
        ..Default::default()
    };
    for f in facts {
        s.total += 1;
        if let Some(entry) = s.by_stage.iter_mut().find(|(st, _)| *st == f.stage) {
            entry.1 += 1;
        }
        if f.stage == Stage::Churned {
            s.churned += 1;
            continue;
        }
        s.live += 1;
        if let Some(entry) = s.by_tier.iter_mut().find(|(t, _)| *t == f.tier) {
            entry.1 += 1;
        }
        if f.mrr_minor > 0 {
            match s.revenue.iter_mut().find(|r| r.currency == f.currency) {
                Some(r) => {
                    r.mrr_minor = r.mrr_minor.saturating_add(f.mrr_minor);
                    r.customers += 1;
                }
                None => s.revenue.push(Revenue {
                    currency: f.currency.clone(),
                    mrr_minor: f.mrr_minor,
                    arr_minor: 0,
                    customers: 1,
                }),
            }
        }
    }
    for r in &mut s.revenue {
        r.arr_minor = r.mrr_minor.saturating_mul(12);
    }
    // Amounts in different currencies (and minor units) can't be compared: the currency
    // most customers pay in comes first.
    s.revenue.sort_by(|a, b| {
        b.customers
            .cmp(&a.customers)
            .then(a.currency.cmp(&b.currency))
    });
    s
}

/// Days without any usage after which a live customer counts as silent.
pub const SILENT_AFTER_DAYS: i64 = 14;

/// The instant before which a customer's last activity makes it silent.
pub fn silent_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(SILENT_AFTER_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(stage: Stage, tier: Tier, mrr: i64, cur: &str) -> CustomerFacts {
        CustomerFacts {
            stage,
            tier,
            mrr_minor: mrr,
            currency: cur.into(),
        }
    }

    #[test]
    fn counts_and_revenue() {
        let s = summarize(&[
            f(Stage::Active, Tier::Enterprise, 10_000_00, "USD"),
            f(Stage::AtRisk, Tier::MidMarket, 2_000_00, "USD"),
            f(Stage::Churned, Tier::MidMarket, 3_000_00, "USD"),
            f(Stage::Trial, Tier::Trial, 0, "USD"),
            f(Stage::Active, Tier::SmallBusiness, 500_00, "EUR"),
        ]);
        assert_eq!((s.total, s.live, s.churned), (5, 4, 1));
        assert_eq!(
            s.by_stage
                .iter()
                .find(|(st, _)| *st == Stage::Churned)
                .unwrap()
                .1,
            1
        );
        assert_eq!(
            s.by_tier
                .iter()
                .find(|(t, _)| *t == Tier::MidMarket)
                .unwrap()
                .1,
            1,
            "churned excluded from tiers"
        );
        assert_eq!(
            s.revenue[0],
            Revenue {
                currency: "USD".into(),
                mrr_minor: 12_000_00,
                arr_minor: 144_000_00,
                customers: 2
            }
        );
        assert_eq!(s.revenue[1].currency, "EUR");
    }

    #[test]
    fn huge_amounts_saturate_and_main_currency_is_by_customers() {
        let mut facts = vec![f(Stage::Active, Tier::Enterprise, i64::MAX / 2, "USD"); 3];
        facts.push(f(Stage::Active, Tier::Enterprise, 1, "JPY"));
        let s = summarize(&facts);
        assert_eq!(s.revenue[0].mrr_minor, i64::MAX);
        assert_eq!(s.revenue[0].arr_minor, i64::MAX);
        let s = summarize(&[
            f(Stage::Active, Tier::Trial, 9_000_000, "JPY"),
            f(Stage::Active, Tier::Trial, 100, "USD"),
            f(Stage::Active, Tier::Trial, 100, "USD"),
        ]);
        assert_eq!(s.revenue[0].currency, "USD");
    }

    #[test]
    fn empty_portfolio() {
        let s = summarize(&[]);
        assert_eq!(s.total, 0);
        assert!(s.revenue.is_empty());
        assert_eq!(s.by_stage.len(), Stage::ALL.len());
    }
}
