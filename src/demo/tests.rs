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
