//! The alert inbox (`/alerts`): what needs someone, most severe first, with the customer,
//! owner and age; acknowledge, snooze or resolve each with a note. The same list, for
//! one customer, sits on its page.

use leptos::prelude::*;
use vcsm::alerts::Severity;
use vcsm::auth::Role;
use vcsm::timefmt::ago;

use super::components::{user_can, ErrorNotice, Loading, PageHeader, Pager};
use crate::api::alerts::{act_on_alert, list_alerts};
use crate::dto::{AlertAction, AlertRow, AlertsPage};
use crate::error::AppError;

fn severity_badge(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "rounded bg-red-600 px-2 py-0.5 text-xs font-semibold text-white",
        Severity::High => "rounded bg-red-100 px-2 py-0.5 text-xs font-semibold text-red-800",
        Severity::Medium => "rounded bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-800",
        Severity::Low => "rounded bg-slate-100 px-2 py-0.5 text-xs font-semibold text-slate-700",
    }
}

/// Handling an alert, shared by a list's rows, with the alert it was last for (so its
/// error shows on its row), and how many handlings succeeded: the list reloads on those
/// only, so a refused one ("a resolution needs a note") keeps the rows — and the note
/// being typed into one — as they are.
#[derive(Clone, Copy)]
struct Act {
    action: Action<(i64, AlertAction, Option<String>), Result<(), AppError>>,
    last: RwSignal<Option<i64>>,
    done: RwSignal<u64>,
}

fn new_act() -> Act {
    let action = Action::new(|(id, action, note): &(i64, AlertAction, Option<String>)| {
        let (id, action, note) = (*id, *action, note.clone());
        async move { act_on_alert(id, action, note).await }
    });
    let done = RwSignal::new(0_u64);
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            done.update(|n| *n += 1);
        }
    });
    Act {
        action,
        last: RwSignal::new(None),
        done,
    }
}

const TABS: [(&str, &str); 4] = [
    ("active", "Needs attention"),
    ("acknowledged", "Acknowledged"),
    ("snoozed", "Snoozed"),
    ("resolved", "Resolved"),
];

/// `/alerts`.
#[component]
pub fn AlertsPage() -> impl IntoView {
    let filter = RwSignal::new("active".to_string());
    let mine = RwSignal::new(false);
    let page = RwSignal::new(0_u64);
    let act = new_act();
    let data = Resource::new(
        move || (filter.get(), mine.get(), page.get(), act.done.get()),
        |(f, m, p, _)| list_alerts(f, m, None, p),
    );
    view! {
        <PageHeader title="Alerts".into() subtitle="Raised seconds after the data that causes them, once per episode of a condition, and assigned to the customer's owner.".into()>
            <a href="/alerts/rules" class="btn-secondary" data-testid="alert-rules-link">"Rules and notifications"</a>
        </PageHeader>
        <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
            <div class="flex flex-wrap gap-1" role="tablist">
                {TABS.into_iter().map(|(key, label)| view! {
                    <button type="button" role="tab" data-testid=format!("tab-{key}")
                        aria-selected=move || (filter.get() == key).to_string()
                        class="rounded-lg px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 aria-selected:bg-indigo-50 aria-selected:text-indigo-700"
                        on:click=move |_| { filter.set(key.to_string()); page.set(0); }>
                        {label}
                    </button>
                }).collect_view()}
            </div>
            <label class="flex items-center gap-2 text-sm text-slate-600">
                <input type="checkbox" data-testid="mine" prop:checked=move || mine.get()
                    on:change=move |ev| { mine.set(event_target_checked(&ev)); page.set(0); }/>
                "Only mine"
            </label>
        </div>
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(p) => alert_table(p, act, page).into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

/// A customer's alerts that need someone, on its page.
#[component]
pub fn CustomerAlerts(customer_id: i64) -> impl IntoView {
    let act = new_act();
    let page = RwSignal::new(0_u64);
    let data = Resource::new(
        move || act.done.get(),
        move |_| list_alerts("active".into(), false, Some(customer_id), 0),
    );
    view! {
        <Transition fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(p) if p.alerts.is_empty() => view! {
                    <section class="card mt-6 p-5 text-sm text-slate-500" data-testid="customer-alerts">
                        <h2 class="mb-1 text-sm font-semibold text-slate-700">"Alerts"</h2>
                        "No open alerts."
                    </section>
                }.into_any(),
                Ok(p) => view! {
                    <section class="mt-6" data-testid="customer-alerts">
                        <h2 class="mb-2 text-sm font-semibold text-slate-700">{format!("Open alerts ({})", p.total)}</h2>
                        {alert_table(p, act, page)}
                    </section>
                }.into_any(),
                Err(e) => view! { <div class="mt-6"><ErrorNotice error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

fn alert_table(p: AlertsPage, act: Act, page: RwSignal<u64>) -> impl IntoView {
    let can_act = user_can(Role::can_edit_customers);
    if p.alerts.is_empty() {
        return view! {
            <div class="card p-8 text-center text-sm text-slate-500" data-testid="alerts-empty">"Nothing here."</div>
        }
        .into_any();
    }
    let now = p.now;
    let (current, total, page_size) = (p.page, p.total, p.page_size);
    view! {
        <div class="card overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="alerts">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="px-4 py-2 font-medium">"Severity"</th>
                        <th class="px-4 py-2 font-medium">"Alert"</th>
                        <th class="px-4 py-2 font-medium">"Owner"</th>
                        <th class="px-4 py-2 font-medium">"Opened"</th>
                        <th class="px-4 py-2 font-medium">"Handling"</th>
                    </tr>
                </thead>
                <tbody>
                    {p.alerts.into_iter().map(|a| alert_row(a, now, act, can_act)).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=total page_size=page_size current=current noun="alerts" page=page/>
    }
    .into_any()
}

fn alert_row(
    a: AlertRow,
    now: chrono::DateTime<chrono::Utc>,
    act: Act,
    can_act: Signal<bool>,
) -> impl IntoView {
    let id = a.id;
    let note = RwSignal::new(String::new());
    let error = move || {
        (act.last.get() == Some(id))
            .then(|| act.action.value().get().and_then(|r| r.err()))
            .flatten()
    };
    let status = match (a.status.as_str(), a.snoozed_until) {
        ("snoozed", Some(t)) => format!("Snoozed until {}", vcsm::timefmt::date_time(t)),
        ("acknowledged", _) => format!(
            "Acknowledged{}",
            a.handled_by
                .clone()
                .map(|h| format!(" by {h}"))
                .unwrap_or_default()
        ),
        ("resolved", _) => format!(
            "Resolved{}",
            a.handled_by
                .clone()
                .map(|h| format!(" by {h}"))
                .unwrap_or_default()
        ),
        _ => "Open".into(),
    };
    let resolved = a.status == "resolved";
    let send = move |action: AlertAction| {
        let n = note.get_untracked();
        act.last.set(Some(id));
        act.action
            .dispatch((id, action, (!n.trim().is_empty()).then_some(n)));
    };
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="alert-row" data-rule=a.rule.clone()>
            <td class="px-4 py-3"><span class=severity_badge(a.severity)>{a.severity.label()}</span></td>
            <td class="px-4 py-3">
                <p class="font-medium text-slate-900">{a.title.clone()}</p>
                <a href=format!("/customers/{}", a.customer_id) class="text-xs text-indigo-700 hover:underline">{a.customer_name.clone()}</a>
                {a.note.clone().map(|n| view! { <p class="mt-1 text-xs text-slate-500" data-testid="alert-note">{format!("Note: {n}")}</p> })}
            </td>
            <td class="px-4 py-3 text-slate-600">{a.owner.clone().unwrap_or_else(|| "Unassigned".into())}</td>
            <td class="px-4 py-3 whitespace-nowrap text-slate-600" title=vcsm::timefmt::date_time(a.opened_at)>{ago(a.opened_at, now)}</td>
            <td class="px-4 py-3 min-w-80">
                <p class="text-xs text-slate-600" data-testid="alert-status">{status}</p>
                {move || (can_act.get() && !resolved).then(|| view! {
                    <div class="mt-2 flex flex-wrap items-center gap-1">
                        <input type="text" class="input h-8 w-full text-xs" placeholder="Note (needed to resolve)" aria-label="Note"
                            data-testid="alert-note-input" prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev))/>
                        <button type="button" class="btn-secondary h-8 text-xs" data-testid="ack" on:click=move |_| send(AlertAction::Acknowledge)>"Acknowledge"</button>
                        <button type="button" class="btn-secondary h-8 text-xs" data-testid="snooze" on:click=move |_| send(AlertAction::Snooze { days: 7 })>"Snooze 7 days"</button>
                        <button type="button" class="btn-primary h-8 text-xs" data-testid="resolve" on:click=move |_| send(AlertAction::Resolve)>"Resolve"</button>
                    </div>
                })}
                {move || error().map(|e| {
                    // A refusal names what was wrong ("note: say what was done…").
                    view! { <span class="mt-1 block text-xs text-red-600" data-testid="alert-error">{e.sentence()}</span> }
                })}
            </td>
        </tr>
    }
}
