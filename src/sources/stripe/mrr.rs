//! Monthly recurring revenue of a subscription: intervals, quantities, tiers and discounts.

use super::*;

/// `n / d` rounded to the nearest integer, halves up; `n ≥ 0`, `d > 0`.
fn div_round(n: i128, d: i128) -> i128 {
    let q = n / d;
    if (n % d) * 2 >= d {
        q + 1
    } else {
        q
    }
}

/// An amount per billing period (every `count` × `interval`) as an amount per month,
/// rounded to the nearest minor unit (halves up). Never negative.
fn monthly(amount: i128, interval: Interval, count: u32) -> i128 {
    let (num, den) = interval.per_month();
    let den = den * i128::from(count.max(1));
    div_round(amount.max(0).saturating_mul(num), den)
}

impl SubscriptionItem {
    /// This item's recurring revenue per month in minor units: unit amount × quantity,
    /// normalised from its billing period (see [`Subscription::mrr_minor`]). Metered items
    /// and prices without a unit amount (tiered) count 0.
    pub fn monthly_amount_minor(&self) -> i64 {
        clamp_i64(self.monthly_i128())
    }

    fn monthly_i128(&self) -> i128 {
        match (self.usage_type, self.unit_amount_minor) {
            (UsageType::Licensed, Some(unit)) => monthly(
                i128::from(unit).saturating_mul(i128::from(self.quantity)),
                self.interval,
                self.interval_count,
            ),
            _ => 0,
        }
    }
}

fn clamp_i64(n: i128) -> i64 {
    i64::try_from(n.clamp(0, i128::from(i64::MAX))).unwrap_or(i64::MAX)
}

impl Subscription {
    /// Whether this subscription is recurring revenue now. Canceled and expired ones have
    /// ended; `incomplete` ones never had their first payment succeed; `paused` ones
    /// (a trial that ended without a payment method) generate no invoices. Unknown
    /// statuses count, so a new Stripe status does not silently drop revenue.
    pub fn counts_toward_mrr(&self) -> bool {
        !matches!(
            self.status,
            SubscriptionStatus::Canceled
                | SubscriptionStatus::IncompleteExpired
                | SubscriptionStatus::Incomplete
                | SubscriptionStatus::Paused
        )
    }

    /// Monthly recurring revenue in minor units of [`Subscription::currency`].
    ///
    /// Each licensed item contributes unit amount × quantity per billing period, turned
    /// into a month: month ÷ count, year ÷ 12 ÷ count, week × 52 ÷ 12 ÷ count,
    /// day × 365 ÷ 12 ÷ count; each item is rounded to the nearest minor unit, halves up.
    /// Metered items count 0: usage-based revenue varies period to period and is not
    /// recurring revenue (track it from invoices instead). Tiered prices count 0 too.
    ///
    /// Discounts with known terms then apply: each `percent_off` multiplies the total
    /// (rounded as above), then each `amount_off` (in the subscription's currency; taken
    /// off once per invoice) is normalised from the billing period of the first licensed
    /// item, as Stripe bills a subscription's items together, and subtracted.
    ///
    /// Arithmetic saturates instead of overflowing; the result is never negative, and 0
    /// when [`Subscription::counts_toward_mrr`] is false.
    pub fn mrr_minor(&self) -> i64 {
        if !self.counts_toward_mrr() {
            return 0;
        }
        let gross = self
            .items
            .iter()
            .fold(0i128, |acc, i| acc.saturating_add(i.monthly_i128()));
        let mut net = gross.min(i128::from(i64::MAX));
        for d in &self.discounts {
            if let Some(pct) = d.percent_off {
                // Kept share in millionths of a percent: exact for any coupon Stripe allows.
                let pct = if pct.is_finite() {
                    pct.clamp(0.0, 100.0)
                } else {
                    0.0
                };
                let keep = ((100.0 - pct) * 1_000_000.0).round() as i128;
                net = div_round(net.saturating_mul(keep), 100_000_000);
            }
        }
        let billing = self
            .items
            .iter()
            .find(|i| i.usage_type == UsageType::Licensed)
            .or(self.items.first());
        if let Some(item) = billing {
            for d in &self.discounts {
                let same_currency = d
                    .currency
                    .as_deref()
                    .is_none_or(|c| c.eq_ignore_ascii_case(&self.currency));
                if let (Some(off), true) = (d.amount_off_minor, same_currency) {
                    let off = monthly(i128::from(off), item.interval, item.interval_count);
                    net = net.saturating_sub(off);
                }
            }
        }
        clamp_i64(net)
    }

    /// The name to show for the plan: the nickname, else the product id, of the item
    /// bringing the most monthly revenue (the first on ties).
    pub fn plan_name(&self) -> Option<String> {
        let mut best: Option<&SubscriptionItem> = None;
        for item in &self.items {
            if best.is_none_or(|b| item.monthly_i128() > b.monthly_i128()) {
                best = Some(item);
            }
        }
        let best = best?;
        best.nickname.clone().or_else(|| best.product.clone())
    }

    /// [`payment_health`] for this subscription.
    pub fn payment_health(&self, latest_invoice: Option<&Invoice>) -> PaymentHealth {
        payment_health(&self.status, latest_invoice)
    }
}
