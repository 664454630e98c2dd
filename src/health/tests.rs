use super::*;

fn window(events: u64, active_days: u32, active_users: u32, features: u32) -> UsageWindow {
    UsageWindow {
        events,
        active_days,
        active_users,
        features,
        by_name: BTreeMap::new(),
    }
}

fn healthy() -> Facts {
    let mut current = window(900, 22, 18, 12);
    current.by_name.insert("Signed In".into(), 300);
    Facts {
        current,
        previous: window(850, 21, 17, 11),
        seats: 20,
        contacts_engaged: 8,
        touches: 3,
        open_tickets: 0,
        tickets: 1,
        ticket_sentiment: Some(0.5),
        escalations: 0,
        payment: Some(Payment::Good),
        mrr_minor: 110_000,
        mrr_minor_before: Some(100_000),
        days_to_renewal: Some(200),
        csm_sentiment: Some(5),
        ..Facts::default()
    }
}

fn thresholds_only() -> Scorecard {
    let mut card = Scorecard::default();
    for g in &mut card.groups {
        for m in &mut g.measures {
            if matches!(m.normalisation, Normalisation::Percentile { .. }) {
                m.normalisation = between(0.0, 100.0);
            }
        }
    }
    card
}

#[test]
fn health_scores_are_bounded() {
    assert_eq!(HealthScore::from_points(-3.0).value(), 0);
    assert_eq!(HealthScore::from_points(100.6).value(), 100);
    assert_eq!(HealthScore::from_points(59.5).value(), 60);
    assert_eq!(HealthScore::from_points(f64::NAN).value(), 0);
    assert!(HealthScore::try_from(101).is_err());
    assert!(serde_json::from_str::<HealthScore>("101").is_err());
    assert_eq!(
        serde_json::from_str::<HealthScore>("42").unwrap().value(),
        42
    );
}

#[test]
fn levels_follow_the_configured_bounds() {
    let l = Levels::default();
    let level = |s| l.level(HealthScore::from_points(s));
    assert_eq!(level(0.0), Level::Poor);
    assert_eq!(level(39.0), Level::Poor);
    assert_eq!(level(40.0), Level::Fair);
    assert_eq!(level(59.0), Level::Fair);
    assert_eq!(level(60.0), Level::Good);
    assert_eq!(level(79.0), Level::Good);
    assert_eq!(level(80.0), Level::Excellent);
    assert_eq!(level(100.0), Level::Excellent);
    let strict = Levels {
        fair: 50,
        good: 70,
        excellent: 90,
    };
    assert_eq!(strict.level(HealthScore::from_points(85.0)), Level::Good);
}

#[test]
fn every_measure_reads_its_fact() {
    let f = healthy();
    let v = |k: MeasureKind| k.value(&f);
    assert_eq!(v(MeasureKind::ActiveDays), Some(22.0));
    assert_eq!(v(MeasureKind::ActiveUsers), Some(18.0));
    assert_eq!(v(MeasureKind::SeatUtilisation), Some(90.0));
    assert_eq!(
        v(MeasureKind::KeyEvents {
            events: vec!["Signed In".into(), "Login".into()]
        }),
        Some(300.0)
    );
    assert_eq!(v(MeasureKind::FeatureBreadth), Some(12.0));
    let trend = v(MeasureKind::UsageTrend).unwrap();
    assert!((trend - 900.0 / 850.0 * 100.0 + 100.0).abs() < 1e-9);
    assert_eq!(v(MeasureKind::ContactsEngaged), Some(8.0));
    assert_eq!(v(MeasureKind::Touches), Some(3.0));
    assert_eq!(v(MeasureKind::CsmSentiment), Some(5.0));
    assert_eq!(v(MeasureKind::OpenTickets), Some(0.0));
    assert_eq!(v(MeasureKind::TicketSentiment), Some(50.0));
    assert_eq!(v(MeasureKind::Escalations), Some(0.0));
    assert_eq!(v(MeasureKind::PaymentHealth), Some(100.0));
    assert_eq!(v(MeasureKind::MrrChange), Some(10.0));
    assert_eq!(v(MeasureKind::DaysToRenewal), Some(200.0));
}

#[test]
fn measures_without_data_say_so() {
    let f = Facts::default();
    for k in [
        MeasureKind::SeatUtilisation,
        MeasureKind::UsageTrend,
        MeasureKind::CsmSentiment,
        MeasureKind::TicketSentiment,
        MeasureKind::PaymentHealth,
        MeasureKind::MrrChange,
        MeasureKind::DaysToRenewal,
    ] {
        assert_eq!(k.value(&f), None, "{k:?}");
    }
    // Growth from nothing is growth; MRR from zero to zero is no data.
    let mut f = Facts::default();
    f.current.events = 5;
    f.mrr_minor_before = Some(0);
    assert_eq!(MeasureKind::UsageTrend.value(&f), Some(100.0));
    assert_eq!(MeasureKind::MrrChange.value(&f), None);
    f.payment = Some(Payment::Failing);
    assert_eq!(MeasureKind::PaymentHealth.value(&f), Some(40.0));
    f.payment = Some(Payment::Delinquent);
    assert_eq!(MeasureKind::PaymentHealth.value(&f), Some(0.0));
}

#[test]
fn thresholds_are_linear_clamped_and_work_both_ways() {
    let up = between(2.0, 20.0);
    assert_eq!(up.apply(2.0, &[]), 0.0);
    assert_eq!(up.apply(0.0, &[]), 0.0);
    assert_eq!(up.apply(11.0, &[]), 50.0);
    assert_eq!(up.apply(20.0, &[]), 100.0);
    assert_eq!(up.apply(28.0, &[]), 100.0);
    let down = between(6.0, 0.0);
    assert_eq!(down.apply(0.0, &[]), 100.0);
    assert_eq!(down.apply(3.0, &[]), 50.0);
    assert_eq!(down.apply(9.0, &[]), 0.0);
    let step = between(5.0, 5.0);
    assert_eq!(step.apply(4.9, &[]), 0.0);
    assert_eq!(step.apply(5.0, &[]), 100.0);
}

#[test]
fn percentiles_rank_within_the_portfolio() {
    let p = HIGHER_RANKS_BETTER;
    let values = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(p.apply(0.5, &values), 0.0);
    assert_eq!(p.apply(5.0, &values), 100.0);
    assert_eq!(p.apply(2.0, &values), 37.5, "mid-rank of a tie");
    assert_eq!(p.apply(2.5, &values), 50.0);
    let lower = Normalisation::Percentile {
        higher_is_better: false,
    };
    assert_eq!(lower.apply(5.0, &values), 0.0);
    assert_eq!(p.apply(3.0, &[]), 50.0, "nothing to rank against");
    // Everyone equal: everyone in the middle.
    assert_eq!(p.apply(7.0, &[7.0, 7.0, 7.0]), 50.0);
}

#[test]
fn the_default_scorecard_is_valid_and_weighted_as_documented() {
    let card = Scorecard::default();
    card.validate().unwrap();
    let weights: Vec<(&str, f64)> = card
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.weight))
        .collect();
    assert_eq!(
        weights,
        vec![
            ("usage", 30.0),
            ("engagement", 30.0),
            ("support", 20.0),
            ("financial", 20.0)
        ]
    );
    assert_eq!(card.levels, Levels::default());
    assert_eq!(card.counted_events(), {
        let mut l: Vec<String> = LOGIN_EVENTS.iter().map(|s| s.to_string()).collect();
        l.sort();
        l
    });
    // It survives a round trip through JSON (it is stored so).
    let json = serde_json::to_string(&card).unwrap();
    assert_eq!(serde_json::from_str::<Scorecard>(&json).unwrap(), card);
}

#[test]
fn validation_names_every_problem_by_path() {
    let mut card = Scorecard {
        window_days: 3,
        levels: Levels {
            fair: 60,
            good: 50,
            excellent: 90,
        },
        ..Scorecard::default()
    };
    card.groups[0].weight = 0.0;
    card.groups[1].measures[0].id = "active_days".into();
    card.groups[1].measures[1].label = " ".into();
    card.groups[1].measures[0].kind = MeasureKind::KeyEvents { events: vec![] };
    card.groups[2].measures[0].normalisation = between(1.0, 1.0);
    card.groups[3].measures.clear();
    let errors = card.validate().unwrap_err();
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "window_days",
            "levels",
            "groups[0].weight",
            "groups[1].measures[0].id",
            "groups[1].measures[0].events",
            "groups[1].measures[1].label",
            "groups[2].measures[0].normalisation",
            "groups[3].measures",
        ]
    );
    let mut empty = Scorecard::default();
    empty.groups.clear();
    assert!(empty.validate().is_err());
}

#[test]
fn points_add_up_to_the_score_and_shares_to_one() {
    let card = thresholds_only();
    for facts in [healthy(), Facts::default()] {
        let h = score(&card, &facts, &Portfolio::default());
        let total: f64 = h.measures.iter().map(|m| m.points).sum();
        assert_eq!(HealthScore::from_points(total), h.score);
        let shares: f64 = h.measures.iter().map(|m| m.share).sum();
        assert!((shares - 1.0).abs() < 1e-9, "{shares}");
        let group_points: f64 = h.groups.iter().map(|g| g.points).sum();
        assert!((group_points - total).abs() < 1e-9);
    }
}

#[test]
fn a_healthy_customer_scores_excellent_and_a_neglected_one_poor() {
    let card = thresholds_only();
    let h = score(&card, &healthy(), &Portfolio::default());
    assert_eq!(h.level, Level::Excellent, "{}", h.score);
    let mut bad = Facts {
        current: window(10, 1, 1, 1),
        previous: window(400, 20, 10, 8),
        seats: 50,
        open_tickets: 8,
        tickets: 5,
        ticket_sentiment: Some(-0.7),
        escalations: 4,
        payment: Some(Payment::Delinquent),
        mrr_minor: 50_000,
        mrr_minor_before: Some(100_000),
        days_to_renewal: Some(10),
        csm_sentiment: Some(1),
        ..Facts::default()
    };
    bad.current.by_name.insert("Signed In".into(), 1);
    let h = score(&card, &bad, &Portfolio::default());
    assert_eq!(h.level, Level::Poor, "{}", h.score);
    assert!(h.score.value() < 10);
}

#[test]
fn missing_measures_are_left_out_not_counted_as_zero() {
    let card = thresholds_only();
    let mut f = healthy();
    let full = score(&card, &f, &Portfolio::default());
    f.payment = None;
    f.mrr_minor_before = None;
    f.days_to_renewal = None;
    let without_financial = score(&card, &f, &Portfolio::default());
    let fin = without_financial
        .groups
        .iter()
        .find(|g| g.id == "financial")
        .unwrap();
    assert_eq!(fin.score, None);
    assert_eq!(fin.share, 0.0);
    // The other groups fill the space: still excellent, not dragged down 20 points.
    assert_eq!(without_financial.level, Level::Excellent);
    assert!(without_financial.score.value() + 5 >= full.score.value());
    // Nothing at all: the middle, not red.
    let nothing = Scorecard {
        groups: vec![Group {
            id: "g".into(),
            label: "G".into(),
            weight: 1.0,
            measures: vec![measure(
                "p",
                "P",
                MeasureKind::PaymentHealth,
                1.0,
                between(0.0, 100.0),
            )],
        }],
        ..Scorecard::default()
    };
    assert_eq!(
        score(&nothing, &Facts::default(), &Portfolio::default())
            .score
            .value(),
        50
    );
}

#[test]
fn weights_decide_how_much_a_measure_counts() {
    let one_group = |w_days: f64, w_tickets: f64| Scorecard {
        groups: vec![Group {
            id: "g".into(),
            label: "G".into(),
            weight: 1.0,
            measures: vec![
                measure(
                    "d",
                    "Days",
                    MeasureKind::ActiveDays,
                    w_days,
                    between(0.0, 20.0),
                ),
                measure(
                    "t",
                    "Tickets",
                    MeasureKind::OpenTickets,
                    w_tickets,
                    between(4.0, 0.0),
                ),
            ],
        }],
        ..Scorecard::default()
    };
    let mut f = Facts::default();
    f.current.active_days = 20; // 100
    f.open_tickets = 4; // 0
    let p = Portfolio::default();
    assert_eq!(score(&one_group(1.0, 1.0), &f, &p).score.value(), 50);
    assert_eq!(score(&one_group(3.0, 1.0), &f, &p).score.value(), 75);
    assert_eq!(score(&one_group(1.0, 3.0), &f, &p).score.value(), 25);
    // Group weights work the same way one level up.
    let mut two = one_group(1.0, 1.0);
    let tickets = two.groups[0].measures.pop().unwrap();
    two.groups[0].weight = 4.0;
    two.groups.push(Group {
        id: "h".into(),
        label: "H".into(),
        weight: 1.0,
        measures: vec![tickets],
    });
    assert_eq!(score(&two, &f, &p).score.value(), 80);
}

#[test]
fn percentile_measures_rank_against_the_portfolio() {
    let card = Scorecard {
        groups: vec![Group {
            id: "g".into(),
            label: "G".into(),
            weight: 1.0,
            measures: vec![measure(
                "f",
                "Features",
                MeasureKind::FeatureBreadth,
                1.0,
                HIGHER_RANKS_BETTER,
            )],
        }],
        ..Scorecard::default()
    };
    let facts: Vec<Facts> = (0..10)
        .map(|i| Facts {
            current: window(0, 0, 0, i),
            ..Facts::default()
        })
        .collect();
    let portfolio = Portfolio::from_facts(&card, &facts);
    assert_eq!(portfolio.values("f").len(), 10);
    let top = score(&card, &facts[9], &portfolio);
    let bottom = score(&card, &facts[0], &portfolio);
    assert_eq!(top.score.value(), 95);
    assert_eq!(bottom.score.value(), 5);
}

#[test]
fn young_customers_are_ranked_among_their_age() {
    let card = Scorecard {
        groups: vec![Group {
            id: "g".into(),
            label: "G".into(),
            weight: 1.0,
            measures: vec![measure(
                "f",
                "Features",
                MeasureKind::FeatureBreadth,
                1.0,
                HIGHER_RANKS_BETTER,
            )],
        }],
        ..Scorecard::default()
    };
    // Established customers use 30–59 features; young ones 1–MIN_COHORT.
    let aged = |days: u32, features: u32| Facts {
        current: window(0, 0, 0, features),
        tenure_days: Some(days),
        ..Facts::default()
    };
    let mut facts: Vec<Facts> = (30..60).map(|f| aged(400, f)).collect();
    facts.extend((1..=MIN_COHORT as u32).map(|f| aged(30, f)));
    let portfolio = Portfolio::from_facts(&card, &facts);
    // The best young account tops its cohort, though all established ones beat it.
    let best_young = aged(30, MIN_COHORT as u32);
    assert!(score(&card, &best_young, &portfolio).score.value() >= 95);
    // The same usage at 400 days ranks against everyone: near the bottom.
    assert!(
        score(&card, &aged(400, MIN_COHORT as u32), &portfolio)
            .score
            .value()
            < 40
    );
    // Too few young accounts to rank among: the whole portfolio is the yardstick.
    let few = Portfolio::from_facts(&card, &facts[..35]);
    assert!(score(&card, &best_young, &few).score.value() < 30);
}

#[test]
fn a_trend_needs_a_whole_previous_window() {
    let card = thresholds_only();
    let mut young = healthy();
    young.previous = window(50, 3, 2, 2);
    young.current = window(300, 20, 5, 6);
    let trend = |f: &Facts| {
        score(&card, f, &Portfolio::default())
            .measures
            .into_iter()
            .find(|m| m.id == "usage_trend")
            .unwrap()
    };
    assert_eq!(trend(&young).raw, Some(500.0));
    young.previous_partial = true;
    let missing = trend(&young);
    assert_eq!((missing.raw, missing.share), (None, 0.0));
}

#[test]
fn a_change_is_explained_by_group_and_measure() {
    let card = thresholds_only();
    let before = healthy();
    let mut after = healthy();
    after.current.active_days = 8;
    after.current.events = 400;
    after.previous.events = 900;
    let h0 = score(&card, &before, &Portfolio::default());
    let h1 = score(&card, &after, &Portfolio::default());
    let changes = explain_change(&h0, &h1);
    assert_eq!(changes[0].id, "usage", "{changes:#?}");
    assert!(changes[0].points < -5.0);
    let total: f64 = changes.iter().map(|c| c.points).sum();
    let moved = f64::from(h1.score.value()) - f64::from(h0.score.value());
    assert!((total - moved).abs() <= 1.0, "{total} vs {moved}");
    assert!(
        changes[0].text.starts_with("Usage −"),
        "{}",
        changes[0].text
    );
    assert!(
        changes[0]
            .text
            .contains("active days down 64 % (22 days → 8 days)"),
        "{}",
        changes[0].text
    );
    // Untouched groups explain themselves as no change.
    let support = changes.iter().find(|c| c.id == "support").unwrap();
    assert_eq!(support.text, "Support ±0 pts");
}

#[test]
fn moves_are_described_in_words() {
    assert_eq!(
        describe_move("Key events", Some(410.0), Some(197.0), ""),
        "key events down 52 % (410 → 197)"
    );
    assert_eq!(
        describe_move("Seat utilisation", Some(40.0), Some(55.5), "%"),
        "seat utilisation up (40% → 55.5%)"
    );
    assert_eq!(
        describe_move("Usage trend", Some(-10.0), Some(-60.0), "%"),
        "usage trend down (-10% → -60%)"
    );
    assert_eq!(
        describe_move("CSM sentiment", None, Some(4.0), "/5"),
        "csm sentiment now 4/5"
    );
    assert_eq!(
        describe_move("Days to renewal", Some(30.0), None, " days"),
        "days to renewal no longer measured (was 30 days)"
    );
    assert_eq!(
        describe_move("Touches", Some(2.0), Some(2.0), ""),
        "touches unchanged (2 → 2)"
    );
    assert_eq!(signed_points(-17.6), "−18 pts");
    assert_eq!(signed_points(0.2), "+<1 pt");
}

#[test]
fn trends_need_a_real_move() {
    let s = HealthScore::from_points;
    assert_eq!(trend(None, s(50.0)), Trend::Unknown);
    assert_eq!(trend(Some(s(50.0)), s(52.0)), Trend::Stable);
    assert_eq!(trend(Some(s(50.0)), s(53.0)), Trend::Improving);
    assert_eq!(trend(Some(s(50.0)), s(47.0)), Trend::Declining);
}
