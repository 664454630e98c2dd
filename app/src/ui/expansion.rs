//! The expansion pipeline (`/expansion`): open signals with their ARR uplift and
//! confidence, largest weighted first, totals per currency and kind; won / dismiss with a
//! note; and the plans the estimates use (admins edit). One customer's signals sit on its
//! page.

use leptos::prelude::*;
use vcsm::auth::Role;
use vcsm::expansion::Plan;
use vcsm::money::{format_compact, format_money, parse_major, to_major_string};
use vcsm::timefmt::date_time;

use super::components::{user_can, ErrorNotice, Loading, PageHeader, Pager};
use crate::api::expansion::{act_on_signal, expansion_pipeline, save_plans};
use crate::dto::{ExpansionPage, ExpansionRow, SignalAction};
use crate::error::AppError;

/// Plans' prices are entered in this currency's units.
const PLAN_CURRENCY: &str = "USD";

type ActOnSignal = Action<(i64, SignalAction, Option<String>), Result<(), AppError>>;

fn new_act() -> ActOnSignal {
    Action::new(|(id, action, note): &(i64, SignalAction, Option<String>)| {
        let (id, action, note) = (*id, *action, note.clone());
        async move { act_on_signal(id, action, note).await }
    })
}

fn percent(confidence: f64) -> String {
    format!("{:.0} %", confidence * 100.0)
}

/// `/expansion`.
#[component]
pub fn ExpansionPipelinePage() -> impl IntoView {
    let page = RwSignal::new(0_u64);
    let act = new_act();
    // Bumped by a save that went through: only then is the saved list read back. A refused
    // save keeps the edits being corrected (re-reading would throw them away).
    let saves = RwSignal::new(0_u32);
    let save = Action::new(move |plans: &Vec<Plan>| {
        let plans = plans.clone();
        async move {
            let saved = save_plans(plans).await;
            if saved.is_ok() {
                saves.update(|n| *n += 1);
            }
            saved
        }
    });
    let data = Resource::new(
        move || (page.get(), act.version().get(), saves.get()),
        |(p, _, _)| expansion_pipeline(None, p),
    );
    // The plans being edited live with the page, not with one load of it: paging through the
    // signals or acting on one re-reads the page and must not reset them.
    let drafts = PlanDrafts {
        rows: RwSignal::new(Vec::new()),
        loaded_after: StoredValue::new(None),
        saves,
    };
    view! {
        <PageHeader title="Expansion".into() subtitle="Customers who look ready to buy more: estimated extra ARR and how sure we are, refreshed with every scoring.".into()/>
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(p) => view! {
                    {totals(&p)}
                    {signal_table(p.signals.clone(), p.total, p.page, p.page_size, act, page)}
                    {plans_editor(&p.plans, p.can_edit_plans, save, drafts)}
                }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

/// A customer's open expansion signals, on its page.
#[component]
pub fn CustomerExpansion(customer_id: i64) -> impl IntoView {
    let act = new_act();
    let page = RwSignal::new(0_u64);
    let data = Resource::new(
        move || act.version().get(),
        move |_| expansion_pipeline(Some(customer_id), 0),
    );
    view! {
        <Transition fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(p) if p.signals.is_empty() => view! {
                    <section class="card mt-6 p-5 text-sm text-slate-500" data-testid="customer-expansion">
                        <h2 class="mb-1 text-sm font-semibold text-slate-700">"Expansion"</h2>
                        "No expansion signals."
                    </section>
                }.into_any(),
                Ok(p) => view! {
                    <section class="mt-6" data-testid="customer-expansion">
                        <h2 class="mb-2 text-sm font-semibold text-slate-700">{format!("Expansion signals ({})", p.total)}</h2>
                        {signal_table(p.signals, p.total, p.page, p.page_size, act, page)}
                    </section>
                }.into_any(),
                Err(e) => view! { <div class="mt-6"><ErrorNotice error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

fn totals(p: &ExpansionPage) -> impl IntoView {
    if p.totals.is_empty() {
        return view! {
            <div class="card mb-6 p-8 text-center text-sm text-slate-500" data-testid="pipeline-empty">
                "No open expansion signals. They appear when a customer nears its plan's limits, grows past its seats, asks for a bigger plan's feature, or is a healthy promoter."
            </div>
        }
        .into_any();
    }
    view! {
        <div class="mb-6 grid gap-4 sm:grid-cols-3" data-testid="pipeline-totals">
            {p.totals.iter().map(|t| view! {
                <div class="card p-5">
                    <p class="text-sm font-medium text-slate-500">{format!("Pipeline ({})", t.currency)}</p>
                    <p class="mt-1 text-2xl font-semibold tracking-tight text-slate-900" data-testid="pipeline-total">{format_money(t.uplift_minor, &t.currency)}</p>
                    <p class="mt-1 text-xs text-slate-500">{format!("{} signals · weighted by confidence {}", t.signals, format_money(t.weighted_minor, &t.currency))}</p>
                </div>
            }).collect_view()}
            <div class="card p-5 sm:col-span-2">
                <p class="mb-2 text-sm font-medium text-slate-500">"By signal"</p>
                <ul class="space-y-1 text-sm" data-testid="pipeline-by-kind">
                    {p.by_kind.iter().map(|t| view! {
                        <li class="flex justify-between gap-4">
                            <span class="text-slate-700">{t.kind.map_or("", |k| k.label())}</span>
                            <span class="tabular-nums text-slate-600">{format!("{} · {} ({} weighted)", t.signals, format_compact(t.uplift_minor, &t.currency), format_compact(t.weighted_minor, &t.currency))}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </div>
        </div>
    }
    .into_any()
}

fn signal_table(
    rows: Vec<ExpansionRow>,
    total: u64,
    current: u64,
    page_size: u64,
    act: ActOnSignal,
    page: RwSignal<u64>,
) -> impl IntoView {
    if rows.is_empty() {
        return ().into_any();
    }
    let can_act = user_can(Role::can_edit_customers);
    let last = RwSignal::new(None::<i64>);
    view! {
        <div class="card overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="signals">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="px-4 py-2 font-medium">"Signal"</th>
                        <th class="px-4 py-2 font-medium text-right">"Uplift (ARR)"</th>
                        <th class="px-4 py-2 font-medium text-right">"Confidence"</th>
                        <th class="px-4 py-2 font-medium">"Customer"</th>
                        <th class="px-4 py-2 font-medium">"Handling"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|s| signal_row(s, act, last, can_act)).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=total page_size=page_size current=current noun="signals" page=page/>
    }
    .into_any()
}

fn signal_row(
    s: ExpansionRow,
    act: ActOnSignal,
    last: RwSignal<Option<i64>>,
    can_act: Signal<bool>,
) -> impl IntoView {
    let id = s.id;
    let note = RwSignal::new(String::new());
    let send = move |action| {
        let n = note.get_untracked();
        last.set(Some(id));
        act.dispatch((id, action, (!n.trim().is_empty()).then_some(n)));
    };
    let error = move || {
        (last.get() == Some(id))
            .then(|| act.value().get().and_then(|r| r.err()))
            .flatten()
            .map(|e| e.to_string())
    };
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="signal-row" data-kind=s.kind.as_str()>
            <td class="px-4 py-3">
                <p class="text-xs font-semibold uppercase tracking-wide text-indigo-700">{s.kind.label()}</p>
                <p class="text-slate-900">{s.title.clone()}</p>
                <p class="text-xs text-slate-500" title=date_time(s.opened_at)>{format!("Since {}", date_time(s.opened_at))}</p>
            </td>
            <td class="px-4 py-3 text-right font-semibold tabular-nums text-slate-900" data-testid="signal-uplift">{format_money(s.uplift_minor, &s.currency)}</td>
            <td class="px-4 py-3 text-right tabular-nums text-slate-600">{percent(s.confidence)}</td>
            <td class="px-4 py-3">
                <a href=format!("/customers/{}", s.customer_id) class="font-medium text-indigo-700 hover:underline">{s.customer_name.clone()}</a>
                <p class="text-xs text-slate-500">{format!(
                    "ARR {} · health {} · {}",
                    format_compact(s.arr_minor, &s.currency),
                    s.health.map_or("–".to_string(), |h| h.to_string()),
                    s.owner.clone().unwrap_or_else(|| "unassigned".into())
                )}</p>
            </td>
            <td class="px-4 py-3 min-w-72">
                {move || can_act.get().then(|| view! {
                    <div class="flex flex-wrap items-center gap-1">
                        <input type="text" class="input h-8 w-full text-xs" placeholder="Note (optional)" aria-label="Note"
                            prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
                        <button type="button" class="btn-primary h-8 text-xs" data-testid="signal-won" on:click=move |_| send(SignalAction::Won)>"Won"</button>
                        <button type="button" class="btn-secondary h-8 text-xs" data-testid="signal-dismiss" on:click=move |_| send(SignalAction::Dismiss)>"Dismiss"</button>
                    </div>
                })}
                {move || error().map(|e| view! { <span class="mt-1 block text-xs text-red-600">{e}</span> })}
            </td>
        </tr>
    }
}

/// One plan being edited: the text of each field.
#[derive(Clone, Debug, Default, PartialEq)]
struct PlanDraft {
    code: String,
    name: String,
    rank: String,
    price: String,
    seat_limit: String,
    event_limit: String,
    features: String,
}

impl PlanDraft {
    fn from_plan(p: &Plan) -> Self {
        Self {
            code: p.code.clone(),
            name: p.name.clone(),
            rank: p.rank.to_string(),
            price: to_major_string(p.seat_price_minor, PLAN_CURRENCY),
            seat_limit: p.seat_limit.map(|l| l.to_string()).unwrap_or_default(),
            event_limit: p.event_limit.map(|l| l.to_string()).unwrap_or_default(),
            features: p.features.join(", "),
        }
    }

    /// The plan, or the first field that isn't a number (the server checks the rest).
    fn to_plan(&self, i: usize) -> Result<Plan, String> {
        let num = |raw: &str, what: &str| -> Result<Option<u64>, String> {
            let raw = raw.trim().replace(',', "");
            if raw.is_empty() {
                return Ok(None);
            }
            raw.parse()
                .map(Some)
                .map_err(|_| format!("Plan {}: {what} must be a whole number", i + 1))
        };
        Ok(Plan {
            code: self.code.clone(),
            name: self.name.clone(),
            rank: self
                .rank
                .trim()
                .parse()
                .map_err(|_| format!("Plan {}: rank must be a whole number", i + 1))?,
            seat_price_minor: parse_major(&self.price, PLAN_CURRENCY)
                .map_err(|e| format!("Plan {}: price {e}", i + 1))?,
            seat_limit: num(&self.seat_limit, "the seat limit")?
                .map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
            event_limit: num(&self.event_limit, "the event limit")?,
            features: self.features.split(',').map(str::to_string).collect(),
        })
    }
}

/// A field the server names (`plans[1].seat_price_minor`) as the editor shows it
/// ("Plan 2, seat price"), like the editor's own messages.
fn plan_field_label(field: &str) -> String {
    let Some((index, name)) = field
        .strip_prefix("plans[")
        .and_then(|rest| rest.split_once("]."))
    else {
        return field.replace('_', " ");
    };
    let Ok(index) = index.parse::<usize>() else {
        return field.replace('_', " ");
    };
    let name = match name {
        "seat_price_minor" => "price",
        "seat_limit" => "seats included",
        "event_limit" => "events per 28 days",
        other => other,
    };
    format!("Plan {}, {name}", index + 1)
}

/// The plan list being edited, and after which save it was read from the server.
#[derive(Clone, Copy)]
struct PlanDrafts {
    rows: RwSignal<Vec<PlanDraft>>,
    loaded_after: StoredValue<Option<u32>>,
    saves: RwSignal<u32>,
}

fn plans_editor(
    plans: &[Plan],
    can_edit: bool,
    save: Action<Vec<Plan>, Result<(), AppError>>,
    edits: PlanDrafts,
) -> impl IntoView {
    let drafts = edits.rows;
    let saved_so_far = edits.saves.get_untracked();
    if edits.loaded_after.get_value() != Some(saved_so_far) {
        // First load, or a save went through: start from what is stored. Untracked: the
        // views that read the drafts are made below, after this.
        edits.loaded_after.set_value(Some(saved_so_far));
        drafts.update_untracked(|d| *d = plans.iter().map(PlanDraft::from_plan).collect());
    }
    let local_error = RwSignal::new(None::<String>);
    let server_error = move || {
        save.value().get().and_then(|r| r.err()).map(|e| {
            e.field_errors()
                .map(|v| {
                    v.0.iter()
                        .map(|f| format!("{}: {}", plan_field_label(&f.field), f.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_else(|| e.to_string())
        })
    };
    let submit = move |_| {
        let parsed: Result<Vec<Plan>, String> = drafts
            .get_untracked()
            .iter()
            .enumerate()
            .map(|(i, d)| d.to_plan(i))
            .collect();
        match parsed {
            Ok(p) => {
                local_error.set(None);
                save.dispatch(p);
            }
            Err(e) => local_error.set(Some(e)),
        }
    };
    let input = move |i: usize,
                      get: fn(&PlanDraft) -> String,
                      set: fn(&mut PlanDraft, String),
                      label: &'static str,
                      class: &'static str| {
        view! {
            <input type="text" class=class aria-label=label disabled=!can_edit
                prop:value=move || drafts.with(|d| d.get(i).map(get).unwrap_or_default())
                on:input=move |ev| { let v = event_target_value(&ev); drafts.update(|d| if let Some(p) = d.get_mut(i) { set(p, v) }) }/>
        }
    };
    view! {
        <section class="mt-8" data-testid="plans">
            <h2 class="mb-1 text-sm font-semibold text-slate-700">"Plans"</h2>
            <p class="mb-3 text-xs text-slate-500">"Plans as sold: the estimates use their prices, limits (per 28 days) and the features only bigger plans have. Customers are matched by the plan code or name on their record."</p>
            <div class="card overflow-x-auto">
                <table class="min-w-full text-sm">
                    <thead>
                        <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                            <th class="px-3 py-2 font-medium">"Code"</th>
                            <th class="px-3 py-2 font-medium">"Name"</th>
                            <th class="px-3 py-2 font-medium">"Rank"</th>
                            <th class="px-3 py-2 font-medium">"Seat / month (USD)"</th>
                            <th class="px-3 py-2 font-medium">"Seats included"</th>
                            <th class="px-3 py-2 font-medium">"Events / 28 days"</th>
                            <th class="px-3 py-2 font-medium">"Features of this plan up"</th>
                            <th class="px-3 py-2"></th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || (0..drafts.with(Vec::len)).map(|i| view! {
                            <tr class="border-t border-slate-100" data-testid="plan-row">
                                <td class="px-3 py-2">{input(i, |d| d.code.clone(), |d, v| d.code = v, "Code", "input h-8 w-24")}</td>
                                <td class="px-3 py-2">{input(i, |d| d.name.clone(), |d, v| d.name = v, "Name", "input h-8 w-28")}</td>
                                <td class="px-3 py-2">{input(i, |d| d.rank.clone(), |d, v| d.rank = v, "Rank", "input h-8 w-14")}</td>
                                <td class="px-3 py-2">{input(i, |d| d.price.clone(), |d, v| d.price = v, "Price per seat per month", "input h-8 w-24")}</td>
                                <td class="px-3 py-2">{input(i, |d| d.seat_limit.clone(), |d, v| d.seat_limit = v, "Seats included", "input h-8 w-20")}</td>
                                <td class="px-3 py-2">{input(i, |d| d.event_limit.clone(), |d, v| d.event_limit = v, "Events per 28 days", "input h-8 w-24")}</td>
                                <td class="px-3 py-2">{input(i, |d| d.features.clone(), |d, v| d.features = v, "Features, comma-separated", "input h-8 w-48")}</td>
                                <td class="px-3 py-2">
                                    {can_edit.then(|| view! {
                                        <button type="button" class="text-xs text-red-700 hover:underline" on:click=move |_| drafts.update(|d| { if i < d.len() { d.remove(i); } })>"Remove"</button>
                                    })}
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {can_edit.then(|| view! {
                <div class="mt-3 flex flex-wrap items-center gap-3">
                    <button type="button" class="btn-secondary" data-testid="add-plan"
                        on:click=move |_| drafts.update(|d| {
                            let rank = d.iter().filter_map(|p| p.rank.trim().parse::<i32>().ok()).max().unwrap_or(0) + 1;
                            d.push(PlanDraft { rank: rank.to_string(), price: "0.00".into(), ..PlanDraft::default() });
                        })>"Add a plan"</button>
                    <button type="button" class="btn-primary" data-testid="save-plans" disabled=move || save.pending().get() on:click=submit>
                        {move || if save.pending().get() { "Saving…" } else { "Save plans" }}
                    </button>
                    {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <span class="text-sm text-emerald-700" data-testid="plans-saved">"Saved: signals are being re-evaluated."</span> })}
                    {move || local_error.get().or_else(server_error).map(|m| view! { <span class="text-sm text-red-600" data-testid="plans-error">{m}</span> })}
                </div>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::plan_field_label;

    #[test]
    fn server_field_names_read_as_the_editor_names_them() {
        assert_eq!(plan_field_label("plans[1].code"), "Plan 2, code");
        assert_eq!(
            plan_field_label("plans[0].seat_price_minor"),
            "Plan 1, price"
        );
        assert_eq!(plan_field_label("plans"), "plans");
        assert_eq!(plan_field_label("plans[x].code"), "plans[x].code");
    }
}
