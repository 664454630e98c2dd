//! A deterministic demo portfolio: the same seed and `as_of` always give the same
//! customers, contacts, subscriptions, invoices, tickets, notes and usage events.
//!
//! Each customer follows a behaviour (growing, steady, declining, churning, new trial,
//! onboarding) that shapes its usage over time, so dashboards and — later — health scores
//! and churn models have realistic signal to find. Events are generated per customer on
//! demand so a large portfolio never sits in memory at once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::auth::{Email, Role};
use crate::customer::{ContactRole, CustomerDraft, Stage, Tier};

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    pub customers: usize,
    pub days: u32,
    pub seed: u64,
    /// The last day of generated history ("today" for the demo).
    pub as_of: NaiveDate,
}

/// How a customer's usage evolves over the generated window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Behaviour {
    Growing,
    Steady,
    Declining,
    Churning,
    NewTrial,
    Onboarding,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoContact {
    pub name: String,
    pub email: String,
    pub title: String,
    pub role: ContactRole,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSubscription {
    pub external_id: String,
    pub plan: String,
    pub status: String,
    pub interval: String,
    pub unit_amount_minor: i64,
    pub quantity: i32,
    pub mrr_minor: i64,
    pub started_at: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
    /// What billing would have told us over time: `subscription_started`, `_changed` and
    /// `_canceled`, each with the MRR after it.
    pub mrr_history: Vec<DemoMrrChange>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoMrrChange {
    pub kind: &'static str,
    pub mrr_minor: i64,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoInvoice {
    pub external_id: String,
    pub amount_minor: i64,
    /// `paid`, `payment_failed` or `refunded`.
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoTicket {
    pub external_id: String,
    pub subject: String,
    pub body: String,
    /// `open`, `pending` or `solved`.
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    pub opened_at: DateTime<Utc>,
    pub solved_at: Option<DateTime<Utc>>,
    /// `good`, `bad` or none.
    pub satisfaction: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoNote {
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Index into [`DemoPortfolio::users`].
    pub author: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoEvent {
    /// Index into the customer's contacts.
    pub contact: Option<usize>,
    pub name: &'static str,
    pub properties: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub message_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DemoCustomer {
    pub draft: CustomerDraft,
    pub behaviour: Behaviour,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<DemoContact>,
    pub subscription: Option<DemoSubscription>,
    pub invoices: Vec<DemoInvoice>,
    pub tickets: Vec<DemoTicket>,
    pub notes: Vec<DemoNote>,
    index: usize,
    seed: u64,
    seats_start: i32,
    /// Daily events at full engagement.
    base_rate: f64,
    /// Product areas this customer uses (breadth of adoption).
    breadth: usize,
    active_from: NaiveDate,
    active_until: Option<NaiveDate>,
    /// A declining customer that stopped using the product altogether from this day.
    dark_from: Option<NaiveDate>,
    window_start: NaiveDate,
    as_of: NaiveDate,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DemoPortfolio {
    pub users: Vec<DemoUser>,
    pub customers: Vec<DemoCustomer>,
}

/// The password every demo user gets.
pub const DEMO_PASSWORD: &str = "demo-password";

const PREFIXES: [&str; 60] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Oscorp",
    "Aperture",
    "Massive",
    "Pied Piper",
    "Dunder",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Virtucon",
    "Bluth",
    "Prestige",
    "Sterling",
    "Zenith",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Litware",
    "Adatum",
    "Tailspin",
    "Woodgrove",
    "Proseware",
    "Lucerne",
    "Fourth Coffee",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Margie's",
    "Wide World",
    "Humongous",
    "Trey",
    "Graphic",
    "Southridge",
    "Lamna",
    "Relecloud",
    "Bellows",
    "Kestrel",
    "Orbital",
    "Quantum",
    "Redwood",
    "Summit",
    "Tidal",
    "Vertex",
    "Willow",
    "Yellowtail",
    "Zephyr",
    "Harbor",
    "Ironclad",
    "Juniper",
];
const SUFFIXES: [&str; 30] = [
    "Labs",
    "Analytics",
    "Systems",
    "Logistics",
    "Health",
    "Foods",
    "Media",
    "Robotics",
    "Energy",
    "Finance",
    "Studios",
    "Networks",
    "Retail",
    "Partners",
    "Software",
    "Cloud",
    "Bank",
    "Travel",
    "Insurance",
    "Motors",
    "Learning",
    "Security",
    "Pharma",
    "Legal",
    "Realty",
    "Games",
    "Telecom",
    "Apparel",
    "Brewing",
    "Aerospace",
];
const FIRST: [&str; 24] = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "John",
    "Hedy",
    "Donald",
    "Sophie",
    "Guido",
    "Anita",
    "Bjarne",
    "Shafi",
    "Leslie",
    "Lynn",
    "Niklaus",
];
const LAST: [&str; 24] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Lamarr",
    "Knuth",
    "Wilson",
    "van Rossum",
    "Borg",
    "Stroustrup",
    "Goldwasser",
    "Lamport",
    "Conway",
    "Wirth",
];
const TITLES: [(&str, ContactRole); 4] = [
    ("Head of Operations", ContactRole::Champion),
    ("VP Customer Experience", ContactRole::ExecutiveSponsor),
    ("IT Administrator", ContactRole::Admin),
    ("Analyst", ContactRole::User),
];
/// Product areas in adoption order: everyone logs in, few automate workflows.
const EVENTS: [&str; 8] = [
    "Logged In",
    "Dashboard Viewed",
    "Report Created",
    "API Call Batch",
    "Export Generated",
    "Workflow Automated",
    "Invite Sent",
    "Integration Connected",
];
/// (plan, price per seat per month in cents)
const PLANS: [(&str, i64); 4] = [
    ("Starter", 19_00),
    ("Professional", 49_00),
    ("Business", 99_00),
    ("Enterprise", 150_00),
];

/// The demo's plans for expansion estimates: [`PLANS`]' prices, with limits per 28 days
/// sized to the demo's event volumes, and the features each bigger plan adds.
pub fn plans() -> Vec<crate::expansion::Plan> {
    let limits: [(Option<u32>, Option<u64>, &[&str]); 4] = [
        (Some(15), Some(150), &[]),
        (Some(30), Some(250), &["API access", "integrations"]),
        (Some(80), Some(400), &["SSO", "audit log"]),
        (None, None, &["dedicated support", "sandbox"]),
    ];
    PLANS
        .iter()
        .zip(limits)
        .enumerate()
        .map(
            |(i, ((name, price), (seats, events, features)))| crate::expansion::Plan {
                code: name.to_lowercase(),
                name: (*name).to_string(),
                rank: i as i32 + 1,
                seat_price_minor: *price,
                seat_limit: seats,
                event_limit: events,
                features: features.iter().map(|f| (*f).to_string()).collect(),
            },
        )
        .collect()
}

const HAPPY_TICKETS: [(&str, &str); 6] = [
    ("How do I export a report to CSV?", "Hi team, we'd like to export the weekly report to CSV for our finance folks. Is there a way? Thanks!"),
    ("Feature request: SSO with Okta", "We love the product and are rolling it out to more teams. Could you support SSO with Okta?"),
    ("Adding more seats", "We're onboarding a new department next month and need about 20 more seats. Who can help?"),
    ("Question about API limits", "Our engineers want to sync data nightly through the API. What are the rate limits?"),
    ("Great onboarding session", "Thanks for the training yesterday, the team found it really useful."),
    ("Dashboard filter question", "Is it possible to save a filter on the main dashboard so it sticks between sessions?"),
];
const UNHAPPY_TICKETS: [(&str, &str); 6] = [
    ("Dashboard keeps timing out", "The dashboard has been timing out all week and my team can't get their work done. This is really frustrating."),
    ("Considering cancelling our subscription", "Honestly we are not getting enough value and are considering cancelling at renewal. Please advise."),
    ("Too expensive for what we use", "We only use a fraction of the features and the price is too expensive for us now."),
    ("Data sync broken again", "The integration stopped syncing again. Third time this month. We need a fix, not a workaround."),
    ("Refund request", "We were charged for seats we never used. We'd like a refund for last month."),
    ("Switching to another tool?", "Our new VP is evaluating alternatives and we may be switching to a competitor next quarter."),
];

fn utc(day: NaiveDate, seconds: u32) -> DateTime<Utc> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(customers: usize) -> DemoConfig {
        DemoConfig {
            customers,
            days: 180,
            seed: 42,
            as_of: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = generate(&config(40));
        let b = generate(&config(40));
        assert_eq!(a, b);
        assert_eq!(a.customers[7].events(), b.customers[7].events());
        let c = generate(&DemoConfig {
            seed: 43,
            ..config(40)
        });
        assert_ne!(a.customers, c.customers);
    }

    #[test]
    fn every_customer_is_valid_and_unique() {
        let p = generate(&config(600));
        let today = config(0).as_of;
        let mut names = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for c in &p.customers {
            assert!(
                names.insert(c.draft.name.clone()),
                "duplicate {}",
                c.draft.name
            );
            assert!(ids.insert(c.draft.external_id.clone()));
            // What the generator makes passes the same validation as user input.
            assert_eq!(c.draft.to_input().validate(today).as_ref(), Ok(&c.draft));
            assert!(c.contacts.iter().any(|k| k.role == ContactRole::Champion));
            if let Some(owner) = &c.draft.owner_email {
                assert!(p
                    .users
                    .iter()
                    .any(|u| &u.email == owner && u.role == Role::Csm));
            }
        }
    }

    #[test]
    fn portfolio_has_the_mix_a_demo_needs() {
        let p = generate(&config(300));
        let count = |f: &dyn Fn(&DemoCustomer) -> bool| p.customers.iter().filter(|c| f(c)).count();
        assert!(count(&|c| c.draft.stage == Stage::Churned) >= 15);
        assert!(count(&|c| c.draft.stage == Stage::Trial) >= 10);
        assert!(count(&|c| c.draft.tier == Tier::Enterprise) >= 5);
        assert!(count(&|c| c.invoices.iter().any(|i| i.status == "payment_failed")) >= 10);
        assert!(count(&|c| !c.tickets.is_empty()) >= 100);
        let events: usize = p.customers.iter().map(|c| c.events().len()).sum();
        assert!((100_000..1_500_000).contains(&events), "{events} events");
    }

    #[test]
    fn churned_customers_go_quiet_and_decliners_decline() {
        let p = generate(&config(300));
        for c in p
            .customers
            .iter()
            .filter(|c| c.behaviour == Behaviour::Churning)
        {
            let churned = utc(c.draft.churned_on.unwrap() + Duration::days(1), 0);
            assert!(c.events().iter().all(|e| e.occurred_at < churned));
        }
        let rate = |c: &DemoCustomer, from: i64, to: i64| {
            let lo = utc(c.as_of - Duration::days(from), 0);
            let hi = utc(c.as_of - Duration::days(to), 0);
            c.events()
                .iter()
                .filter(|e| e.occurred_at >= lo && e.occurred_at < hi)
                .count()
        };
        let decliners: Vec<_> = p
            .customers
            .iter()
            .filter(|c| c.behaviour == Behaviour::Declining && c.active_from < c.window_start)
            .collect();
        let early: usize = decliners.iter().map(|c| rate(c, 180, 152)).sum();
        let late: usize = decliners.iter().map(|c| rate(c, 28, 0)).sum();
        assert!(late * 2 < early, "late {late} early {early}");
    }

    #[test]
    fn events_are_ordered_with_unique_ids() {
        let p = generate(&config(20));
        for c in &p.customers {
            let ev = c.events();
            assert!(ev.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at));
            let ids: std::collections::HashSet<_> = ev.iter().map(|e| &e.message_id).collect();
            assert_eq!(ids.len(), ev.len());
        }
    }
}
