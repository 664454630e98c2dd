//! Generating the portfolio: customers, their behaviour over time, their events on demand.

use super::*;

pub(super) fn utc(day: NaiveDate, seconds: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        + Duration::seconds(i64::from(seconds))
}

fn slug(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// Knuth's method: fine for the small rates used here.
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let l = (-lambda.min(60.0)).exp();
    let (mut k, mut p) = (0_u32, 1.0_f64);
    loop {
        p *= rng.gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// The demo team: an admin, a manager, three CSMs who own accounts and an executive.
pub fn demo_users() -> Vec<DemoUser> {
    let u = |email: &str, name: &str, role| DemoUser {
        email: Email::parse(email).expect("valid demo e-mail"),
        name: name.into(),
        role,
    };
    vec![
        u("admin@example.com", "Alex Admin", Role::Admin),
        u("manager@example.com", "Morgan Lee", Role::Manager),
        u("priya@example.com", "Priya Shah", Role::Csm),
        u("diego@example.com", "Diego Alvarez", Role::Csm),
        u("sam@example.com", "Sam Carter", Role::Csm),
        u("exec@example.com", "Erin Walsh", Role::Executive),
    ]
}

/// Indexes of the users who own accounts.
fn owner_indexes(users: &[DemoUser]) -> Vec<usize> {
    users
        .iter()
        .enumerate()
        .filter(|(_, u)| u.role == Role::Csm)
        .map(|(i, _)| i)
        .collect()
}

/// Generates the portfolio (events excluded: see [`DemoCustomer::events`]).
pub fn generate(config: &DemoConfig) -> DemoPortfolio {
    let users = demo_users();
    let owners = owner_indexes(&users);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut names = std::collections::HashSet::new();
    let customers = (0..config.customers)
        .map(|i| {
            let customer_seed = rng.gen::<u64>();
            generate_customer(config, &users, &owners, i, customer_seed, &mut names)
        })
        .collect();
    DemoPortfolio { users, customers }
}

fn generate_customer(
    config: &DemoConfig,
    users: &[DemoUser],
    owners: &[usize],
    index: usize,
    seed: u64,
    names: &mut std::collections::HashSet<String>,
) -> DemoCustomer {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let as_of = config.as_of;
    let days = i64::from(config.days.max(1));
    let window_start = as_of - Duration::days(days);

    let mut name = format!(
        "{} {}",
        pick(&mut rng, &PREFIXES),
        pick(&mut rng, &SUFFIXES)
    );
    if !names.insert(name.clone()) {
        name = format!("{name} {}", index + 1);
        names.insert(name.clone());
    }
    let domain = format!("{}.example", slug(&name));

    let roll: f64 = rng.gen();
    let behaviour = match roll {
        r if r < 0.22 => Behaviour::Growing,
        r if r < 0.62 => Behaviour::Steady,
        r if r < 0.77 => Behaviour::Declining,
        r if r < 0.87 => Behaviour::Churning,
        r if r < 0.95 => Behaviour::NewTrial,
        _ => Behaviour::Onboarding,
    };

    // Plan and seats: a few large enterprise accounts, many small ones.
    let size: f64 = rng.gen();
    let (plan_idx, seats) = match size {
        s if s < 0.08 => (3, rng.gen_range(60..400)),
        s if s < 0.30 => (2, rng.gen_range(22..80)),
        s if s < 0.75 => (1, rng.gen_range(8..30)),
        _ => (0, rng.gen_range(3..15)),
    };
    let (plan, price) = PLANS[plan_idx];
    let seats_start = if behaviour == Behaviour::Growing {
        (seats * 7 / 10).max(1)
    } else {
        seats
    };

    let active_from = match behaviour {
        Behaviour::NewTrial => as_of - Duration::days(rng.gen_range(1..14)),
        Behaviour::Onboarding => as_of - Duration::days(rng.gen_range(10..60).min(days)),
        _ => as_of - Duration::days(rng.gen_range(days / 2..days + 900)),
    };
    let churned_on = (behaviour == Behaviour::Churning).then(|| {
        let earliest =
            (active_from + Duration::days(30)).max(window_start + Duration::days(days / 5));
        let span = (as_of - Duration::days(3) - earliest).num_days().max(1);
        earliest + Duration::days(rng.gen_range(0..span))
    });

    let trial = behaviour == Behaviour::NewTrial;
    let mrr_minor = if trial { 0 } else { price * i64::from(seats) };
    let stage = match behaviour {
        Behaviour::NewTrial => Stage::Trial,
        Behaviour::Onboarding => Stage::Onboarding,
        Behaviour::Churning => Stage::Churned,
        Behaviour::Declining if rng.gen_bool(0.6) => Stage::AtRisk,
        _ => Stage::Active,
    };
    let tier = if trial {
        Tier::Trial
    } else {
        Tier::for_arr_cents(mrr_minor * 12)
    };
    let owner = match tier {
        Tier::Enterprise | Tier::MidMarket => Some(owners[index % owners.len()]),
        Tier::SmallBusiness if rng.gen_bool(0.7) => Some(owners[index % owners.len()]),
        _ => None,
    };
    let mut renewal =
        NaiveDate::from_ymd_opt(as_of.year(), active_from.month(), active_from.day().min(28))
            .unwrap_or(as_of);
    while renewal <= as_of {
        renewal += Duration::days(365);
    }
    let mut tags = Vec::new();
    if rng.gen_bool(0.2) {
        tags.push("EU".to_string());
    }
    if rng.gen_bool(0.1) {
        tags.push("beta".to_string());
    }
    if plan_idx == 3 {
        tags.push("strategic".to_string());
    }

    let draft = CustomerDraft {
        name: name.clone(),
        external_id: Some(format!("acct_{:05}", index + 1)),
        domain: Some(domain.clone()),
        tier,
        stage,
        churned_on,
        plan: Some(if trial {
            format!("{plan} (trial)")
        } else {
            plan.to_string()
        }),
        mrr_minor,
        currency: "USD".into(),
        seats,
        contract_start: (!trial).then_some(active_from),
        renewal_date: (!trial && churned_on.is_none()).then_some(renewal),
        owner_email: owner.map(|o| users[o].email.clone()),
        tags,
        billing_period: (!trial).then_some(crate::customers::BillingPeriod::Annual),
        attributes: Default::default(),
    };

    let contact_count = (2 + seats / 25).clamp(2, 8) as usize;
    let contacts: Vec<DemoContact> = (0..contact_count)
        .map(|c| {
            let first = FIRST[(index * 7 + c * 3) % FIRST.len()];
            let last = LAST[(index * 5 + c * 11) % LAST.len()];
            let (title, role) = TITLES[c.min(3)];
            DemoContact {
                name: format!("{first} {last}"),
                email: format!("{}.{}@{domain}", slug(first), slug(last)),
                title: title.into(),
                role,
            }
        })
        .collect();

    let created_at = utc(active_from, rng.gen_range(9 * 3600..17 * 3600));
    let until = churned_on.unwrap_or(as_of);

    let (subscription, invoices) = if trial {
        (None, Vec::new())
    } else {
        let yearly = plan_idx >= 2 && rng.gen_bool(0.3);
        let fail_p = match behaviour {
            Behaviour::Declining | Behaviour::Churning => 0.18,
            _ => 0.02,
        };
        let mut invoices = Vec::new();
        let mut month = active_from;
        let mut n = 0;
        while month <= until {
            if month >= window_start {
                let progress = (month - active_from).num_days() as f64
                    / (as_of - active_from).num_days().max(1) as f64;
                let seats_then =
                    seats_start + ((seats - seats_start) as f64 * progress).round() as i32;
                let amount = price * i64::from(seats_then) * if yearly { 12 } else { 1 };
                let at = utc(month, 6 * 3600);
                let failed = rng.gen_bool(fail_p);
                invoices.push(DemoInvoice {
                    external_id: format!("in_demo_{:05}_{n:03}", index + 1),
                    amount_minor: amount,
                    status: if failed {
                        "payment_failed".into()
                    } else {
                        "paid".into()
                    },
                    occurred_at: at,
                    description: format!("{plan} × {seats_then}"),
                });
                if failed && (month + Duration::days(3) <= until) && rng.gen_bool(0.7) {
                    invoices.push(DemoInvoice {
                        external_id: format!("in_demo_{:05}_{n:03}r", index + 1),
                        amount_minor: amount,
                        status: "paid".into(),
                        occurred_at: at + Duration::days(3),
                        description: format!("{plan} × {seats_then} (retry)"),
                    });
                }
            }
            n += 1;
            month += Duration::days(if yearly { 365 } else { 30 });
        }
        let status = match behaviour {
            Behaviour::Churning => "canceled",
            Behaviour::Declining
                if invoices
                    .last()
                    .is_some_and(|i| i.status == "payment_failed") =>
            {
                "past_due"
            }
            _ => "active",
        };
        let canceled_at = churned_on.map(|d| utc(d, 12 * 3600));
        let mut mrr_history = vec![DemoMrrChange {
            kind: "subscription_started",
            mrr_minor: price * i64::from(seats_start),
            at: created_at,
        }];
        if seats_start != seats {
            // Grown to today's seats halfway.
            mrr_history.push(DemoMrrChange {
                kind: "subscription_changed",
                mrr_minor,
                at: created_at + (utc(until, 0) - created_at) / 2,
            });
        }
        if let Some(at) = canceled_at {
            mrr_history.push(DemoMrrChange {
                kind: "subscription_canceled",
                mrr_minor: 0,
                at,
            });
        }
        let sub = DemoSubscription {
            external_id: format!("sub_demo_{:05}", index + 1),
            plan: plan.into(),
            status: status.into(),
            interval: if yearly {
                "year".into()
            } else {
                "month".into()
            },
            unit_amount_minor: price * if yearly { 12 } else { 1 },
            quantity: seats,
            mrr_minor,
            started_at: created_at,
            current_period_end: utc(renewal.min(until + Duration::days(30)), 0),
            canceled_at,
            mrr_history,
        };
        (Some(sub), invoices)
    };

    let unhappy = matches!(behaviour, Behaviour::Declining | Behaviour::Churning);
    let ticket_rate = (0.6 + f64::from(seats) / 80.0) * if unhappy { 2.5 } else { 1.0 } / 30.0;
    let mut tickets = Vec::new();
    let mut day = active_from.max(window_start);
    while day <= until {
        if rng.gen_bool(ticket_rate.min(0.9)) {
            let late = (day - window_start).num_days() as f64 / days as f64;
            let negative = unhappy && rng.gen_bool((0.3 + 0.6 * late).min(0.95));
            let (subject, body) = if negative {
                pick(&mut rng, &UNHAPPY_TICKETS)
            } else {
                pick(&mut rng, &HAPPY_TICKETS)
            };
            let opened_at = utc(day, rng.gen_range(8 * 3600..18 * 3600));
            let age = (as_of - day).num_days();
            let solved = age > 7 || (age > 1 && rng.gen_bool(0.5));
            tickets.push(DemoTicket {
                external_id: format!("tk_demo_{:05}_{:03}", index + 1, tickets.len()),
                subject: (*subject).into(),
                body: (*body).into(),
                status: if solved {
                    "solved".into()
                } else if rng.gen_bool(0.5) {
                    "pending".into()
                } else {
                    "open".into()
                },
                priority: if negative {
                    (*pick(&mut rng, &["high", "urgent", "normal"])).into()
                } else {
                    (*pick(&mut rng, &["low", "normal", "normal"])).into()
                },
                opened_at,
                solved_at: solved.then(|| opened_at + Duration::hours(rng.gen_range(2..96))),
                satisfaction: if solved && rng.gen_bool(0.6) {
                    Some(if negative { "bad" } else { "good" }.into())
                } else {
                    None
                },
            });
        }
        day += Duration::days(1);
    }

    let mut notes = Vec::new();
    if let Some(author) = owner {
        notes.push(DemoNote {
            body: "Kick-off call held; success criteria agreed with the champion.".into(),
            created_at: created_at + Duration::days(2),
            author,
        });
        let mid = utc(
            until - Duration::days((until - active_from.max(window_start)).num_days() / 2),
            15 * 3600,
        );
        let body = match behaviour {
            Behaviour::Growing => {
                "Expansion conversation: they plan to roll out to two more teams."
            }
            Behaviour::Declining | Behaviour::Churning => {
                "Champion is leaving the company; usage has dropped. Need a new sponsor."
            }
            _ => "Quarterly check-in: happy with the product, asked about the roadmap.",
        };
        notes.push(DemoNote {
            body: body.into(),
            created_at: mid,
            author,
        });
    }

    let base_rate = (1.5 + f64::from(seats).sqrt() * 1.3).min(40.0);
    let dark_from = (behaviour == Behaviour::Declining && rng.gen_bool(0.4))
        .then(|| as_of - Duration::days(rng.gen_range(15..45)));
    let breadth = match behaviour {
        Behaviour::Growing => rng.gen_range(5..=8),
        Behaviour::Declining | Behaviour::Churning => rng.gen_range(2..=5),
        Behaviour::NewTrial | Behaviour::Onboarding => rng.gen_range(2..=4),
        Behaviour::Steady => rng.gen_range(3..=7),
    };

    DemoCustomer {
        draft,
        behaviour,
        created_at,
        contacts,
        subscription,
        invoices,
        tickets,
        notes,
        index,
        seed,
        seats_start,
        base_rate,
        breadth,
        active_from,
        active_until: churned_on,
        dark_from,
        window_start,
        as_of,
    }
}

impl DemoCustomer {
    /// Usage intensity (1.0 = normal) on `day`, from the customer's behaviour.
    fn engagement(&self, day: NaiveDate) -> f64 {
        if self.dark_from.is_some_and(|d| day >= d) {
            return 0.0;
        }
        let span = (self.as_of - self.window_start).num_days().max(1) as f64;
        let t = (day - self.window_start).num_days() as f64 / span;
        match self.behaviour {
            Behaviour::Growing => 0.7 + 0.7 * t,
            Behaviour::Steady => 1.0,
            Behaviour::Declining => {
                if t < 0.4 {
                    1.0
                } else {
                    (1.0 - 1.4 * (t - 0.4)).max(0.12)
                }
            }
            Behaviour::Churning => {
                let end = self.active_until.unwrap_or(self.as_of);
                let left = (end - day).num_days() as f64;
                (left / 60.0).clamp(0.05, 1.0)
            }
            Behaviour::NewTrial | Behaviour::Onboarding => {
                let age = (day - self.active_from).num_days() as f64;
                (0.5 + age / 20.0).min(1.1)
            }
        }
    }

    /// Seats in use on `day` (growing accounts add seats over time).
    pub fn seats_on(&self, day: NaiveDate) -> i32 {
        let span = (self.as_of - self.window_start).num_days().max(1) as f64;
        let t = ((day - self.window_start).num_days() as f64 / span).clamp(0.0, 1.0);
        self.seats_start + ((self.draft.seats - self.seats_start) as f64 * t).round() as i32
    }

    /// Every usage event of this customer, in time order, deterministic.
    pub fn events(&self) -> Vec<DemoEvent> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5eed_e7e7);
        let mut out = Vec::new();
        let start = self.active_from.max(self.window_start);
        let end = self.active_until.unwrap_or(self.as_of);
        let mut day = start;
        while day <= end {
            let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
            let lambda = self.base_rate * self.engagement(day) * if weekend { 0.25 } else { 1.0 };
            let count = poisson(&mut rng, lambda);
            let mut seconds: Vec<u32> = (0..count)
                .map(|_| rng.gen_range(7 * 3600..21 * 3600))
                .collect();
            seconds.sort_unstable();
            for s in seconds {
                // Earlier product areas are used more: weight area k by 1/(k+1).
                let weights: f64 = (0..self.breadth).map(|k| 1.0 / (k as f64 + 1.0)).sum();
                let mut x = rng.gen::<f64>() * weights;
                let mut area = 0;
                for k in 0..self.breadth {
                    x -= 1.0 / (k as f64 + 1.0);
                    if x <= 0.0 {
                        area = k;
                        break;
                    }
                }
                let contact =
                    (!self.contacts.is_empty()).then(|| rng.gen_range(0..self.contacts.len()));
                let name = EVENTS[area];
                let properties = match name {
                    "Report Created" => {
                        serde_json::json!({ "report_type": *pick(&mut rng, &["usage", "pipeline", "finance"]) })
                    }
                    "API Call Batch" => serde_json::json!({ "calls": rng.gen_range(10..500) }),
                    "Export Generated" => {
                        serde_json::json!({ "format": if rng.gen_bool(0.7) { "csv" } else { "pdf" } })
                    }
                    _ => serde_json::json!({}),
                };
                out.push(DemoEvent {
                    contact,
                    name,
                    properties,
                    occurred_at: utc(day, s),
                    message_id: format!("demo-{:05}-{:07}", self.index + 1, out.len()),
                });
            }
            day += Duration::days(1);
        }
        if let Some(nps) = self.nps() {
            let at = out.partition_point(|e| e.occurred_at <= nps.occurred_at);
            out.insert(at, nps);
        }
        out
    }

    /// One NPS answer some 2–10 weeks back, from a customer live then: promoters among
    /// the growing, detractors among those leaving (its own random stream, so the other
    /// events don't change).
    fn nps(&self) -> Option<DemoEvent> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x0e95_0e95);
        let day = self.as_of - Duration::days(rng.gen_range(14..70));
        let live = self.active_from <= day && self.active_until.is_none_or(|u| day < u);
        if !live || rng.gen_bool(0.35) {
            return None; // not everyone answers
        }
        let score: u8 = match self.behaviour {
            Behaviour::Growing => rng.gen_range(8..=10),
            Behaviour::Steady => rng.gen_range(6..=10),
            Behaviour::Declining => rng.gen_range(2..=7),
            Behaviour::Churning => rng.gen_range(0..=5),
            Behaviour::NewTrial | Behaviour::Onboarding => rng.gen_range(6..=9),
        };
        Some(DemoEvent {
            contact: (!self.contacts.is_empty()).then_some(0),
            name: "NPS Submitted",
            properties: serde_json::json!({ "score": score }),
            occurred_at: utc(day, 10 * 3600),
            message_id: format!("demo-{:05}-nps", self.index + 1),
        })
    }
}
