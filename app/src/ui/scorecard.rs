//! The health scorecard editor (admins; everyone else reads it): groups and their
//! weights, each measure's weight and how it becomes 0–100, the levels and the window.
//! Saving makes a new version and re-scores the portfolio with a progress bar.

use leptos::prelude::*;
use vcsm::auth::Role;
use vcsm::health::{Measure, MeasureKind, Normalisation, Scorecard};

use super::components::{user_can, ErrorNotice, Loading, PageHeader};
use crate::api::health::{get_scorecard, save_scorecard};
use crate::dto::ScorecardDto;
use crate::error::AppError;

/// Every kind of measure an admin can add, with a label and a starting normalisation.
fn catalogue() -> Vec<(&'static str, &'static str, MeasureKind, Normalisation)> {
    use MeasureKind as K;
    let t = |poor, good| Normalisation::Thresholds { poor, good };
    let pct = Normalisation::Percentile {
        higher_is_better: true,
    };
    vec![
        ("active_days", "Active days", K::ActiveDays, t(2.0, 20.0)),
        ("active_users", "Active users", K::ActiveUsers, pct),
        (
            "seat_utilisation",
            "Seat utilisation",
            K::SeatUtilisation,
            t(10.0, 70.0),
        ),
        (
            "key_events",
            "Key events",
            K::KeyEvents {
                events: vec!["Report Created".into()],
            },
            pct,
        ),
        ("feature_breadth", "Features used", K::FeatureBreadth, pct),
        ("usage_trend", "Usage trend", K::UsageTrend, t(-50.0, 10.0)),
        (
            "contacts_engaged",
            "Contacts engaged",
            K::ContactsEngaged,
            t(0.0, 5.0),
        ),
        ("touches", "Team touches", K::Touches, t(0.0, 3.0)),
        (
            "csm_sentiment",
            "CSM sentiment",
            K::CsmSentiment,
            t(1.0, 5.0),
        ),
        ("open_tickets", "Open tickets", K::OpenTickets, t(6.0, 0.0)),
        (
            "ticket_sentiment",
            "Ticket sentiment",
            K::TicketSentiment,
            t(-50.0, 30.0),
        ),
        ("escalations", "Escalations", K::Escalations, t(3.0, 0.0)),
        (
            "payment_health",
            "Payment health",
            K::PaymentHealth,
            t(0.0, 100.0),
        ),
        ("mrr_change", "MRR change", K::MrrChange, t(-20.0, 5.0)),
        (
            "days_to_renewal",
            "Days to renewal",
            K::DaysToRenewal,
            t(14.0, 120.0),
        ),
    ]
}

fn parse_number(ev: &leptos::ev::Event) -> f64 {
    event_target_value(ev).trim().parse().unwrap_or(f64::NAN)
}

#[component]
pub fn ScorecardPage() -> impl IntoView {
    let can_edit = user_can(Role::can_admin);
    let save = Action::new(|card: &Scorecard| {
        let card = card.clone();
        async move { save_scorecard(card).await }
    });
    // Reload after a successful save only: a refused one keeps the admin's edits on screen.
    let saved = RwSignal::new(0_u32);
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            saved.update(|n| *n += 1);
        }
    });
    let data = Resource::new(move || saved.get(), |_| get_scorecard());
    // `?draft=model`: start from the weights the churn model learned, for review.
    let query = leptos_router::hooks::use_query_map();
    let draft = Memo::new(move |_| query.read().get("draft").is_some_and(|d| d == "model"));
    view! {
        <PageHeader title="Health scorecard".into() subtitle="How every customer's 0–100 health is made: groups of measures, their weights, and how each measure becomes 0–100.".into()/>
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(dto) => view! { <Editor dto=dto can_edit=can_edit.get() save=save data=data draft=draft.get()/> }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Editor(
    dto: ScorecardDto,
    can_edit: bool,
    save: Action<Scorecard, Result<i32, AppError>>,
    data: Resource<Result<ScorecardDto, AppError>>,
    draft: bool,
) -> impl IntoView {
    let suggestion = dto.suggestion.clone();
    let drafted = draft && can_edit && suggestion.is_some();
    let card = RwSignal::new(match (&suggestion, drafted) {
        (Some(s), true) => s.apply(&dto.card),
        _ => dto.card.clone(),
    });
    let suggestion_notice = suggestion.filter(|_| can_edit).map(|s| {
        if drafted {
            view! {
                <div class="card mb-4 border-amber-300 bg-amber-50 p-4 text-sm text-amber-900" data-testid="scorecard-draft">
                    <p class="font-semibold">"Draft: weights learned from churn"</p>
                    <p class="mt-1">{format!(
                        "Each measure weighs what it alone told apart, on {} of the churn model's observations, between customers who stayed and those who churned within 90 days (its AUC above a coin toss, times the share of customers it has data for). Review the weights below, then save to publish them as version {}; nothing changes until you do.",
                        vcsm::money::group_thousands(s.observations),
                        s.version + 1
                    )}</p>
                    <a class="mt-2 inline-block font-medium text-amber-900 underline" href="/health/scorecard">"Discard the draft"</a>
                </div>
            }
            .into_any()
        } else {
            view! {
                <div class="card mb-4 p-4 text-sm text-slate-700" data-testid="scorecard-suggestion">
                    "The churn model has learned weights for this scorecard from who churned. "
                    <a class="font-medium text-indigo-700 hover:underline" href="/health/scorecard?draft=model">"Review them as a draft"</a>
                </div>
            }
            .into_any()
        }
    });
    let errors = move || {
        save.value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.field_errors().cloned())
            .map(|v| v.0)
            .unwrap_or_default()
    };
    let error_at = move |path: String| {
        errors()
            .into_iter()
            .find(|e| e.field == path)
            .map(|e| e.message)
    };
    // While the portfolio is being re-scored, poll its progress.
    let rescore = dto.rescore;
    if rescore.is_some_and(|r| !r.finished) {
        set_timeout(
            move || data.refetch(),
            std::time::Duration::from_millis(500),
        );
    }
    let disabled = !can_edit;
    // Version 1 saved by nobody is the default that ships, stored on first use.
    let saved = dto
        .saved_at
        .filter(|_| dto.saved_by.is_some())
        .map(|t| {
            format!(
                "Version {} · saved {}{}",
                dto.version,
                vcsm::timefmt::date_time(t),
                dto.saved_by.map(|b| format!(" by {b}")).unwrap_or_default()
            )
        })
        .unwrap_or_else(|| format!("Version {} · the default scorecard", dto.version));
    view! {
        <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
            <p class="text-sm text-slate-500" data-testid="scorecard-version">{saved}</p>
            {can_edit.then(|| view! {
                <button type="button" class="btn-primary" data-testid="save-scorecard"
                    disabled=move || save.pending().get()
                    on:click=move |_| { save.dispatch(card.get_untracked()); }>
                    {move || if save.pending().get() { "Saving…" } else { "Save as a new version" }}
                </button>
            })}
        </div>
        {move || save.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mb-4"><ErrorNotice error=e/></div> })}
        {suggestion_notice}
        {rescore.map(|r| {
            let pct = (r.done * 100).checked_div(r.total).unwrap_or(0);
            let text = if r.failed {
                format!("Re-scoring with version {} failed on its last try: see the Jobs page; the nightly recompute will catch up.", r.version)
            } else if r.finished {
                format!("Every customer re-scored with version {} ({} customers).", r.version, r.done)
            } else {
                format!("Re-scoring the portfolio with version {}: {} of {}", r.version, r.done, r.total)
            };
            view! {
                <div class="card mb-4 p-4" data-testid="rescore-progress">
                    <div class="h-2 w-full overflow-hidden rounded-full bg-slate-100" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string()>
                        <div class="h-full rounded-full bg-indigo-600" style=format!("width: {}%", if r.finished { 100 } else { pct })></div>
                    </div>
                    <p class="mt-1.5 text-xs text-slate-600">{text}</p>
                </div>
            }
        })}
        <div class="card mb-6 grid gap-4 p-5 sm:grid-cols-4">
            <label class="text-sm">
                <span class="label">"Window (days)"</span>
                <input type="number" class="input" min="7" max="180" disabled=disabled
                    prop:value=move || card.with(|c| c.window_days.to_string())
                    on:change=move |ev| card.update(|c| c.window_days = event_target_value(&ev).trim().parse().unwrap_or(0))/>
                {move || error_at("window_days".into()).map(|m| view! { <span class="mt-1 block text-xs text-red-600">{m}</span> })}
            </label>
            {[("Fair from", 0usize), ("Good from", 1), ("Excellent from", 2)].into_iter().map(|(label, k)| view! {
                <label class="text-sm">
                    <span class="label">{label}</span>
                    <input type="number" class="input" min="1" max="100" disabled=disabled data-testid=format!("level-{k}")
                        prop:value=move || card.with(|c| [c.levels.fair, c.levels.good, c.levels.excellent][k].to_string())
                        on:change=move |ev| {
                            let v: u8 = event_target_value(&ev).trim().parse().unwrap_or(0);
                            card.update(|c| match k { 0 => c.levels.fair = v, 1 => c.levels.good = v, _ => c.levels.excellent = v });
                        }/>
                </label>
            }).collect_view()}
            {move || error_at("levels".into()).map(|m| view! { <p class="mt-1 block text-xs text-red-600 sm:col-span-4">{m}</p> })}
        </div>
        {move || {
            let groups = card.with(|c| c.groups.len());
            (0..groups).map(|g| view! { <GroupEditor card=card g=g disabled=disabled error_at=error_at/> }).collect_view()
        }}
    }
}

#[component]
fn GroupEditor(
    card: RwSignal<Scorecard>,
    g: usize,
    disabled: bool,
    error_at: impl Fn(String) -> Option<String> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let group = move || card.with(|c| c.groups.get(g).cloned());
    let total_weight = move || card.with(|c| c.groups.iter().map(|x| x.weight).sum::<f64>());
    let adding = RwSignal::new(String::new());
    view! {
        <section class="card mb-6" data-testid=format!("group-{g}")>
            <div class="flex flex-wrap items-center gap-4 border-b border-slate-100 px-5 py-3">
                <h2 class="text-sm font-semibold text-slate-800">{move || group().map(|x| x.label).unwrap_or_default()}</h2>
                <label class="flex items-center gap-2 text-sm text-slate-600">
                    "Weight"
                    <input type="number" step="any" class="input w-24" disabled=disabled data-testid=format!("group-{g}-weight")
                        prop:value=move || group().map(|x| x.weight.to_string()).unwrap_or_default()
                        on:change=move |ev| { let v = parse_number(&ev); card.update(|c| c.groups[g].weight = v); }/>
                </label>
                <span class="text-xs text-slate-500 tabular-nums">{move || {
                    let (w, t) = (group().map(|x| x.weight).unwrap_or(0.0), total_weight());
                    if t > 0.0 { format!("{:.0} % of the score", w / t * 100.0) } else { String::new() }
                }}</span>
                {move || error_at(format!("groups[{g}].weight")).map(|m| view! { <span class="mt-1 block text-xs text-red-600">{m}</span> })}
                {move || error_at(format!("groups[{g}].measures")).map(|m| view! { <span class="mt-1 block text-xs text-red-600">{m}</span> })}
            </div>
            <div class="overflow-x-auto">
                // Fixed columns, so every group's table lines up with the others.
                <table class="min-w-full table-fixed text-sm">
                    <thead><tr>
                        <th class="th w-1/4">"Measure"</th><th class="th w-28">"Weight"</th><th class="th w-48">"Scale"</th>
                        <th class="th w-40">"0 points at"</th><th class="th w-40">"100 points at"</th><th class="th w-24"></th>
                    </tr></thead>
                    <tbody>
                        {move || {
                            let n = group().map(|x| x.measures.len()).unwrap_or(0);
                            (0..n).map(|k| view! { <MeasureRow card=card g=g k=k disabled=disabled error_at=error_at/> }).collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            {(!disabled).then(|| view! {
                <div class="flex items-center gap-2 border-t border-slate-100 px-5 py-3">
                    <select class="input w-56" data-testid=format!("group-{g}-add") prop:value=move || adding.get() on:change=move |ev| adding.set(event_target_value(&ev))>
                        <option value="">"Add a measure…"</option>
                        {move || {
                            let used: Vec<String> = card.with(|c| c.measures().map(|(_, m)| m.id.clone()).collect());
                            catalogue().into_iter().filter(|(id, ..)| !used.iter().any(|u| u == id)).map(|(id, label, ..)| view! {
                                <option value=id>{label}</option>
                            }).collect_view()
                        }}
                    </select>
                    <button type="button" class="btn-secondary" disabled=move || adding.with(String::is_empty)
                        on:click=move |_| {
                            let wanted = adding.get_untracked();
                            if let Some((id, label, kind, normalisation)) = catalogue().into_iter().find(|(id, ..)| *id == wanted) {
                                card.update(|c| c.groups[g].measures.push(Measure { id: id.into(), label: label.into(), kind, weight: 10.0, normalisation }));
                            }
                            adding.set(String::new());
                        }>"Add"</button>
                </div>
            })}
        </section>
    }
}

#[component]
fn MeasureRow(
    card: RwSignal<Scorecard>,
    g: usize,
    k: usize,
    disabled: bool,
    error_at: impl Fn(String) -> Option<String> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let measure = move || card.with(|c| c.groups.get(g).and_then(|x| x.measures.get(k)).cloned());
    let edit = move |f: Box<dyn FnOnce(&mut Measure)>| {
        card.update(|c| {
            if let Some(m) = c.groups.get_mut(g).and_then(|x| x.measures.get_mut(k)) {
                f(m);
            }
        });
    };
    let path = format!("groups[{g}].measures[{k}]");
    let is_percentile = move || {
        matches!(
            measure().map(|m| m.normalisation),
            Some(Normalisation::Percentile { .. })
        )
    };
    let threshold = move |good: bool| match measure().map(|m| m.normalisation) {
        Some(Normalisation::Thresholds { poor, good: g }) => {
            (if good { g } else { poor }).to_string()
        }
        _ => String::new(),
    };
    let set_threshold = move |good: bool, v: f64| {
        edit(Box::new(move |m| {
            if let Normalisation::Thresholds { poor, good: g } = &mut m.normalisation {
                if good {
                    *g = v
                } else {
                    *poor = v
                }
            }
        }));
    };
    let p1 = path.clone();
    let p2 = path.clone();
    view! {
        <tr data-testid=format!("measure-{}", measure().map(|m| m.id).unwrap_or_default())>
            <td class="td">
                <span class="font-medium">{move || measure().map(|m| m.label).unwrap_or_default()}</span>
                {move || match measure().map(|m| m.kind) {
                    Some(MeasureKind::KeyEvents { events }) => view! {
                        <input type="text" class="input mt-1 text-xs" disabled=disabled placeholder="Event names, comma-separated"
                            prop:value=events.join(", ")
                            on:change=move |ev| {
                                let names: Vec<String> = event_target_value(&ev).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                                edit(Box::new(move |m| m.kind = MeasureKind::KeyEvents { events: names }));
                            }/>
                    }.into_any(),
                    _ => ().into_any(),
                }}
                {move || error_at(format!("{p1}.events")).map(|m| view! { <span class="mt-1 block text-xs text-red-600">{m}</span> })}
            </td>
            <td class="td">
                <input type="number" step="any" class="input w-20" disabled=disabled
                    prop:value=move || measure().map(|m| m.weight.to_string()).unwrap_or_default()
                    on:change=move |ev| { let v = parse_number(&ev); edit(Box::new(move |m| m.weight = v)); }/>
                {move || error_at(format!("{p2}.weight")).map(|m| view! { <span class="mt-1 block text-xs text-red-600">{m}</span> })}
            </td>
            <td class="td">
                <select class="input w-40" disabled=disabled
                    prop:value=move || if is_percentile() { "percentile" } else { "thresholds" }
                    on:change=move |ev| {
                        let pick = event_target_value(&ev);
                        edit(Box::new(move |m| m.normalisation = if pick == "percentile" {
                            Normalisation::Percentile { higher_is_better: true }
                        } else {
                            Normalisation::Thresholds { poor: 0.0, good: 100.0 }
                        }));
                    }>
                    <option value="thresholds">"Thresholds"</option>
                    <option value="percentile">"Rank in portfolio"</option>
                </select>
            </td>
            <td class="td">
                <Show when=move || !is_percentile() fallback=|| view! { <span class="text-xs text-slate-500">"lowest in the portfolio"</span> }>
                    <input type="number" step="any" class="input w-24" disabled=disabled
                        prop:value=move || threshold(false) on:change=move |ev| set_threshold(false, parse_number(&ev))/>
                </Show>
                {move || error_at(format!("{path}.normalisation")).map(|m| view! { <span class="mt-1 block text-xs text-red-600">{m}</span> })}
            </td>
            <td class="td">
                <Show when=move || !is_percentile() fallback=|| view! { <span class="text-xs text-slate-500">"highest in the portfolio"</span> }>
                    <input type="number" step="any" class="input w-24" disabled=disabled
                        prop:value=move || threshold(true) on:change=move |ev| set_threshold(true, parse_number(&ev))/>
                </Show>
            </td>
            <td class="td text-right">
                {(!disabled).then(|| view! {
                    <button type="button" class="text-xs text-red-700 hover:underline"
                        on:click=move |_| card.update(|c| { if k < c.groups[g].measures.len() { c.groups[g].measures.remove(k); } })>"Remove"</button>
                })}
            </td>
        </tr>
    }
}
