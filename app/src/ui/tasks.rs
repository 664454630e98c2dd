//! The task cockpit (`/tasks`): one row per customer with its open tasks and the alerts
//! nobody has taken, overdue first, then by ARR × churn risk × SLA urgency; complete
//! with an outcome, snooze, reassign, acknowledge — one at a time or in bulk. The tiers'
//! SLAs are edited at the bottom (admins). A customer's tasks sit on its page.

use std::collections::BTreeSet;

use leptos::prelude::*;
use vcsm::auth::Role;
use vcsm::money::format_compact;
use vcsm::tasks::{NewTask, Outcome, TierSlas};
use vcsm::timefmt::ago;

use super::components::{user_can, ErrorNotice, Loading, PageHeader, Pager, TierBadge};
use crate::api::tasks::{
    acknowledge_alerts, complete_tasks, create_task, customer_tasks, done_tasks, get_tier_slas,
    reassign_tasks, save_tier_slas, snooze_task, task_cockpit,
};
use crate::dto::{AlertRow, CockpitRow, TaskRow};
use crate::error::AppError;

/// What a button asks the server to do with tasks or alerts.
#[derive(Clone, Debug)]
enum Op {
    Complete(Vec<i64>, String, Option<String>),
    Snooze(i64, u32),
    Reassign(Vec<i64>, i64),
    Acknowledge(Vec<i64>),
    Create(NewTask),
}

/// The operations of a list, and how many succeeded (lists reload on those only, so a
/// refusal keeps what was being typed).
#[derive(Clone, Copy)]
struct Ops {
    action: Action<Op, Result<(), AppError>>,
    done: RwSignal<u64>,
}

fn new_ops() -> Ops {
    let action = Action::new(|op: &Op| {
        let op = op.clone();
        async move {
            match op {
                Op::Complete(ids, outcome, note) => {
                    complete_tasks(ids, outcome, note).await.map(|_| ())
                }
                Op::Snooze(id, days) => snooze_task(id, days).await,
                Op::Reassign(ids, to) => reassign_tasks(ids, to).await.map(|_| ()),
                Op::Acknowledge(ids) => acknowledge_alerts(ids).await.map(|_| ()),
                Op::Create(t) => create_task(t).await.map(|_| ()),
            }
        }
    });
    let done = RwSignal::new(0_u64);
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            done.update(|n| *n += 1);
        }
    });
    Ops { action, done }
}

fn ops_error(ops: Ops) -> impl IntoView {
    move || {
        ops.action.value().get().and_then(|r| r.err()).map(|e| {
            view! { <p class="mt-2 text-sm text-red-600" role="alert" data-testid="task-error">{e.sentence()}</p> }
        })
    }
}

fn priority_badge(p: vcsm::tasks::Priority) -> &'static str {
    use vcsm::tasks::Priority as P;
    match p {
        P::Urgent => "rounded bg-red-600 px-1.5 py-0.5 text-xs font-semibold text-white",
        P::High => "rounded bg-red-100 px-1.5 py-0.5 text-xs font-semibold text-red-800",
        P::Normal => "rounded bg-slate-100 px-1.5 py-0.5 text-xs font-semibold text-slate-700",
        P::Low => "rounded bg-slate-50 px-1.5 py-0.5 text-xs text-slate-500",
    }
}

fn due_text(due: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    if due < now {
        format!("Overdue · was due {}", ago(due, now))
    } else {
        format!("Due {}", ago(due, now))
    }
}

fn source_text(t: &TaskRow) -> String {
    match (&t.playbook, t.source.as_str()) {
        (Some((_, name)), _) => format!(
            "Playbook {name}{}",
            t.step
                .as_ref()
                .map(|s| format!(" · step {s}"))
                .unwrap_or_default()
        ),
        (None, "alert") => "From an alert no playbook handles".into(),
        _ => "Made by hand".into(),
    }
}

/// Which list the page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Mine,
    Everyone,
    Done,
}

/// `/tasks`.
#[component]
pub fn TasksPage() -> impl IntoView {
    let tab = RwSignal::new(Tab::Mine);
    let page = RwSignal::new(0_u64);
    let ops = new_ops();
    let picked_tasks = RwSignal::new(BTreeSet::<i64>::new());
    let picked_alerts = RwSignal::new(BTreeSet::<i64>::new());
    let cockpit = Resource::new(
        move || (tab.get(), page.get(), ops.done.get()),
        |(t, p, _)| async move {
            match t {
                Tab::Done => Ok(None),
                t => task_cockpit(t == Tab::Mine, p).await.map(Some),
            }
        },
    );
    let done = Resource::new(
        move || (tab.get(), page.get(), ops.done.get()),
        |(t, p, _)| async move {
            match t {
                Tab::Done => done_tasks(false, p).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    Effect::new(move |_| {
        ops.done.track();
        tab.track();
        picked_tasks.set(BTreeSet::new());
        picked_alerts.set(BTreeSet::new());
    });
    let tabs = [
        (Tab::Mine, "mine", "My work"),
        (Tab::Everyone, "everyone", "The team's"),
        (Tab::Done, "done", "Done"),
    ];
    view! {
        <PageHeader title="Tasks".into() subtitle="One row per customer with its tasks and the alerts nobody has taken: overdue first, then by ARR × churn risk × how close the SLA is.".into()/>
        <div class="mb-4 flex flex-wrap gap-1" role="tablist">
            {tabs.into_iter().map(|(t, key, label)| view! {
                <button type="button" role="tab" data-testid=format!("tab-{key}")
                    aria-selected=move || (tab.get() == t).to_string()
                    class="rounded-lg px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 aria-selected:bg-indigo-50 aria-selected:text-indigo-700"
                    on:click=move |_| { tab.set(t); page.set(0); }>
                    {label}
                </button>
            }).collect_view()}
        </div>
        <BulkBar ops picked_tasks picked_alerts/>
        {ops_error(ops)}
        <Transition fallback=Loading>
            {move || cockpit.get().map(|r| match r {
                Ok(Some(p)) => {
                    let now = p.now;
                    let assignees = p.assignees.clone();
                    let summary = format!(
                        "{} customers · {} open tasks · {} alerts waiting{}",
                        p.total, p.open_tasks, p.open_alerts,
                        if p.snoozed > 0 { format!(" · {} snoozed", p.snoozed) } else { String::new() },
                    );
                    let (current, total, size) = (p.page, p.total, p.page_size);
                    if p.rows.is_empty() {
                        return view! {
                            <div class="card p-10 text-center text-sm text-slate-500" data-testid="cockpit-empty">
                                <p class="font-medium text-slate-700">"Nothing to do."</p>
                                <p class="mt-1">"Tasks from playbooks, from alerts and made by hand show here, most urgent first."</p>
                            </div>
                        }.into_any();
                    }
                    view! {
                        <p class="mb-2 text-sm text-slate-500" data-testid="cockpit-summary">{summary}</p>
                        <div class="space-y-3" data-testid="cockpit">
                            {p.rows.into_iter().map(|row| cockpit_row(row, now, ops, picked_tasks, picked_alerts, assignees.clone())).collect_view()}
                        </div>
                        <Pager total=total page_size=size current=current noun="customers" page=page/>
                    }.into_any()
                }
                Ok(None) => ().into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || done.get().map(|r| match r {
                Ok(Some(p)) if p.tasks.is_empty() => view! {
                    <div class="card p-10 text-center text-sm text-slate-500" data-testid="done-empty">"No task has been completed yet."</div>
                }.into_any(),
                Ok(Some(p)) => {
                    let now = p.now;
                    let (current, total, size) = (p.page, p.total, p.page_size);
                    view! {
                        <div class="card divide-y divide-slate-100" data-testid="done-tasks">
                            {p.tasks.into_iter().map(|t| done_item(t, now)).collect_view()}
                        </div>
                        <Pager total=total page_size=size current=current noun="tasks" page=page/>
                    }.into_any()
                }
                Ok(None) => ().into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
        <SlaSettings/>
    }
}

/// Completing, reassigning or acknowledging what is ticked.
#[component]
fn BulkBar(
    ops: Ops,
    picked_tasks: RwSignal<BTreeSet<i64>>,
    picked_alerts: RwSignal<BTreeSet<i64>>,
) -> impl IntoView {
    let outcome = RwSignal::new(Outcome::ReachedEngaged.as_str().to_string());
    let any =
        move || !picked_tasks.with(BTreeSet::is_empty) || !picked_alerts.with(BTreeSet::is_empty);
    view! {
        <Show when=any>
            <div class="sticky top-0 z-10 mb-3 flex flex-wrap items-center gap-2 rounded-lg border border-indigo-200 bg-indigo-50 p-3 text-sm" data-testid="bulk-bar">
                <span class="font-medium text-indigo-900">
                    {move || format!("{} tasks, {} alerts ticked", picked_tasks.with(BTreeSet::len), picked_alerts.with(BTreeSet::len))}
                </span>
                <Show when=move || !picked_tasks.with(BTreeSet::is_empty)>
                    <select class="input h-8 w-auto py-1 text-xs" aria-label="Outcome for the ticked tasks" data-testid="bulk-outcome"
                        on:change=move |ev| outcome.set(event_target_value(&ev))>
                        {Outcome::ALL.iter().map(|o| view! { <option value=o.as_str()>{o.label()}</option> }).collect_view()}
                    </select>
                    <button type="button" class="btn-primary h-8 text-xs" data-testid="bulk-complete"
                        on:click=move |_| { ops.action.dispatch(Op::Complete(picked_tasks.get_untracked().into_iter().collect(), outcome.get_untracked(), None)); }>
                        "Complete tasks"
                    </button>
                </Show>
                <Show when=move || !picked_alerts.with(BTreeSet::is_empty)>
                    <button type="button" class="btn-secondary h-8 text-xs" data-testid="bulk-ack"
                        on:click=move |_| { ops.action.dispatch(Op::Acknowledge(picked_alerts.get_untracked().into_iter().collect())); }>
                        "Acknowledge alerts"
                    </button>
                </Show>
            </div>
        </Show>
    }
}

fn toggle(set: RwSignal<BTreeSet<i64>>, id: i64, on: bool) {
    set.update(|s| {
        if on {
            s.insert(id);
        } else {
            s.remove(&id);
        }
    });
}

fn cockpit_row(
    row: CockpitRow,
    now: chrono::DateTime<chrono::Utc>,
    ops: Ops,
    picked_tasks: RwSignal<BTreeSet<i64>>,
    picked_alerts: RwSignal<BTreeSet<i64>>,
    assignees: Vec<(i64, String)>,
) -> impl IntoView {
    let can_act = user_can(Role::can_edit_customers);
    let risk = row
        .risk
        .map(|r| format!("{:.0} % risk", r * 100.0))
        .unwrap_or_else(|| "risk unknown".into());
    let due_class = if row.overdue {
        "text-xs font-semibold text-red-700"
    } else {
        "text-xs text-slate-600"
    };
    view! {
        <section class="card p-4" data-testid="cockpit-row" data-customer=row.customer_id.to_string() data-overdue=row.overdue.to_string()>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <div class="flex min-w-0 flex-wrap items-baseline gap-2">
                    <a href=format!("/customers/{}", row.customer_id) class="truncate font-semibold text-slate-900 hover:underline">{row.customer_name.clone()}</a>
                    <TierBadge tier=row.tier/>
                    <span class="text-xs text-slate-500">{format!("{} ARR · {risk}{}", format_compact(row.arr_minor, &row.currency), row.health.map(|h| format!(" · health {h}")).unwrap_or_default())}</span>
                </div>
                <div class="flex items-baseline gap-3">
                    <span class="text-xs text-slate-500">{row.owner.clone().map(|o| format!("Owner {o}")).unwrap_or_else(|| "No owner".into())}</span>
                    <span class=due_class data-testid="row-due">{due_text(row.due_at, now)}</span>
                </div>
            </div>
            <ul class="mt-3 divide-y divide-slate-100 border-t border-slate-100">
                {row.tasks.into_iter().map(|t| task_item(t, now, ops, Some(picked_tasks), can_act, assignees.clone())).collect_view()}
                {row.alerts.into_iter().map(|a| alert_item(a, now, ops, picked_alerts, can_act)).collect_view()}
            </ul>
        </section>
    }
}

fn task_item(
    t: TaskRow,
    now: chrono::DateTime<chrono::Utc>,
    ops: Ops,
    picked: Option<RwSignal<BTreeSet<i64>>>,
    can_act: Signal<bool>,
    assignees: Vec<(i64, String)>,
) -> impl IntoView {
    let id = t.id;
    let outcome = RwSignal::new(Outcome::ReachedEngaged.as_str().to_string());
    let note = RwSignal::new(String::new());
    let overdue = t.due_at < now;
    let current_assignee = t.assignee_id;
    view! {
        <li class="flex flex-wrap items-start gap-3 py-3" data-testid="task-item" data-task=id.to_string()>
            {move || picked.filter(|_| can_act.get()).map(|picked| view! {
                <input type="checkbox" class="mt-1" aria-label="Tick this task" data-testid="pick-task"
                    prop:checked=move || picked.with(|s| s.contains(&id))
                    on:change=move |ev| toggle(picked, id, event_target_checked(&ev))/>
            })}
            <div class="min-w-0 flex-1">
                <p class="flex flex-wrap items-center gap-2">
                    <span class=priority_badge(t.priority)>{t.priority.label()}</span>
                    <span class="font-medium text-slate-900" data-testid="task-title">{t.title.clone()}</span>
                </p>
                {(!t.description.is_empty()).then(|| view! { <p class="mt-1 text-xs text-slate-600">{t.description.clone()}</p> })}
                <p class="mt-1 text-xs text-slate-500">
                    {source_text(&t)}
                    {format!(" · {}", t.assignee.clone().unwrap_or_else(|| "unassigned".into()))}
                    " · "
                    <span class:text-red-700=overdue class:font-semibold=overdue>{due_text(t.due_at, now)}</span>
                </p>
            </div>
            {move || can_act.get().then(|| {
                let assignees = assignees.clone();
                view! {
                    <div class="flex flex-wrap items-center gap-1">
                        <select class="input h-8 w-auto py-1 text-xs" aria-label="Outcome" data-testid="task-outcome"
                            on:change=move |ev| outcome.set(event_target_value(&ev))>
                            {Outcome::ALL.iter().map(|o| view! { <option value=o.as_str()>{o.label()}</option> }).collect_view()}
                        </select>
                        <input type="text" class="input h-8 w-40 py-1 text-xs" placeholder="Note (optional)" aria-label="Note"
                            data-testid="task-note" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
                        <button type="button" class="btn-primary h-8 text-xs" data-testid="task-complete"
                            on:click=move |_| {
                                let n = note.get_untracked();
                                ops.action.dispatch(Op::Complete(vec![id], outcome.get_untracked(), (!n.trim().is_empty()).then_some(n)));
                            }>"Complete"</button>
                        <button type="button" class="btn-secondary h-8 text-xs" data-testid="task-snooze"
                            on:click=move |_| { ops.action.dispatch(Op::Snooze(id, 1)); }>"Snooze a day"</button>
                        {(!assignees.is_empty()).then(|| view! {
                        <select class="input h-8 w-auto py-1 text-xs" aria-label="Reassign" data-testid="task-reassign"
                            on:change=move |ev| {
                                if let Ok(to) = event_target_value(&ev).parse::<i64>() {
                                    ops.action.dispatch(Op::Reassign(vec![id], to));
                                }
                            }>
                            <option value="">"Reassign…"</option>
                            {assignees.into_iter().filter(|(uid, _)| Some(*uid) != current_assignee).map(|(uid, name)| view! {
                                <option value=uid.to_string()>{name}</option>
                            }).collect_view()}
                        </select>
                        })}
                    </div>
                }
            })}
        </li>
    }
}

fn alert_item(
    a: AlertRow,
    now: chrono::DateTime<chrono::Utc>,
    ops: Ops,
    picked: RwSignal<BTreeSet<i64>>,
    can_act: Signal<bool>,
) -> impl IntoView {
    let id = a.id;
    view! {
        <li class="flex flex-wrap items-start gap-3 py-3" data-testid="alert-item" data-alert=id.to_string()>
            {move || can_act.get().then(|| view! {
                <input type="checkbox" class="mt-1" aria-label="Tick this alert" data-testid="pick-alert"
                    prop:checked=move || picked.with(|s| s.contains(&id))
                    on:change=move |ev| toggle(picked, id, event_target_checked(&ev))/>
            })}
            <div class="min-w-0 flex-1">
                <p class="flex flex-wrap items-center gap-2">
                    <span class="rounded bg-amber-100 px-1.5 py-0.5 text-xs font-semibold text-amber-800">{format!("Alert · {}", a.severity.label())}</span>
                    <span class="font-medium text-slate-900">{a.title.clone()}</span>
                </p>
                <p class="mt-1 text-xs text-slate-500">{format!("Opened {} · {}", ago(a.opened_at, now), a.owner.clone().unwrap_or_else(|| "unassigned".into()))}</p>
            </div>
            {move || can_act.get().then(|| view! {
                <button type="button" class="btn-secondary h-8 text-xs" data-testid="alert-ack"
                    on:click=move |_| { ops.action.dispatch(Op::Acknowledge(vec![id])); }>"Acknowledge"</button>
            })}
        </li>
    }
}

fn done_item(t: TaskRow, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <div class="flex flex-wrap items-start justify-between gap-3 p-4" data-testid="done-task">
            <div class="min-w-0">
                <p class="font-medium text-slate-900">{t.title.clone()}</p>
                <p class="mt-1 text-xs text-slate-500">
                    <a href=format!("/customers/{}", t.customer_id) class="text-indigo-700 hover:underline">{t.customer_name.clone()}</a>
                    {format!(" · {}", source_text(&t))}
                </p>
            </div>
            <div class="text-right text-xs text-slate-600">
                <p class="font-semibold text-slate-800" data-testid="done-outcome">{t.outcome.map(|o| o.label()).unwrap_or("Done")}</p>
                {t.outcome_note.clone().map(|n| view! { <p class="max-w-sm">{n}</p> })}
                <p>{format!("{} · {}", t.completed_by.clone().unwrap_or_default(), t.completed_at.map(|c| ago(c, now)).unwrap_or_default())}</p>
            </div>
        </div>
    }
}

/// The tiers' SLAs: how soon a task, or an alert nobody handles, is due.
#[component]
fn SlaSettings() -> impl IntoView {
    let is_admin = user_can(Role::can_admin);
    let saved = RwSignal::new(0_u64);
    let slas = Resource::new(move || saved.get(), |_| get_tier_slas());
    let edited = RwSignal::new(None::<TierSlas>);
    let save = Action::new(|s: &TierSlas| {
        let s = *s;
        async move { save_tier_slas(s).await }
    });
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(()))) {
            saved.update(|n| *n += 1);
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || slas.get().and_then(|r| r.ok()).map(|s| {
                edited.set(Some(s));
                view! {
                    <section class="card mt-8 p-5" data-testid="sla-settings">
                        <h2 class="text-sm font-semibold text-slate-700">"Response times by tier"</h2>
                        <p class="mt-1 text-xs text-slate-500">"A task, and an alert nobody handles, is due this many hours after it opens."</p>
                        <div class="mt-3 flex flex-wrap items-end gap-4">
                            {vcsm::customers::Tier::ALL.iter().map(|t| {
                                let t = *t;
                                view! {
                                    <label class="text-xs text-slate-600">
                                        <span class="block">{t.label()}</span>
                                        <input type="number" min="1" max="720" class="input mt-1 h-9 w-24" disabled=move || !is_admin.get()
                                            data-testid=format!("sla-{}", t.as_str())
                                            prop:value=s.hours(t.as_str()).to_string()
                                            on:change=move |ev| {
                                                let h = event_target_value(&ev).trim().parse().unwrap_or(0);
                                                edited.update(|e| if let Some(e) = e { e.set(t, h) });
                                            }/>
                                    </label>
                                }
                            }).collect_view()}
                            {move || is_admin.get().then(|| view! {
                                <button type="button" class="btn-secondary h-9" data-testid="save-slas"
                                    on:click=move |_| { if let Some(e) = edited.get_untracked() { save.dispatch(e); } }>"Save"</button>
                            })}
                        </div>
                        {move || save.value().get().map(|r| match r {
                            Ok(()) => view! { <p class="mt-2 text-xs text-green-700" data-testid="slas-saved">"Saved: new tasks are due by these times."</p> }.into_any(),
                            Err(e) => view! { <p class="mt-2 text-xs text-red-600" role="alert" data-testid="sla-error">{e.sentence()}</p> }.into_any(),
                        })}
                    </section>
                }
            })}
        </Transition>
    }
}

/// A customer's tasks on its page: the open ones (complete with an outcome), a task made
/// by hand, and the latest completed with what came of them.
#[component]
pub fn CustomerTasks(customer_id: i64) -> impl IntoView {
    let ops = new_ops();
    let data = Resource::new(move || ops.done.get(), move |_| customer_tasks(customer_id));
    let can_act = user_can(Role::can_edit_customers);
    let title = RwSignal::new(String::new());
    view! {
        <section class="card mt-6 p-5" data-testid="customer-tasks">
            <h2 class="mb-2 text-sm font-semibold text-slate-700">"Tasks"</h2>
            <Transition fallback=|| ()>
                {move || data.get().map(|r| match r {
                    Ok(list) => {
                        let now = list.now;
                        let (open, done): (Vec<_>, Vec<_>) = list.tasks.into_iter().partition(|t| t.status == "open");
                        view! {
                            {open.is_empty().then(|| view! { <p class="text-sm text-slate-500" data-testid="no-open-tasks">"No open task."</p> })}
                            <ul class="divide-y divide-slate-100">
                                {open.into_iter().map(|t| task_item(t, now, ops, None, can_act, Vec::new()).into_any()).collect_view()}
                            </ul>
                            {(!done.is_empty()).then(|| view! {
                                <details class="mt-3 text-sm">
                                    <summary class="cursor-pointer text-slate-600">{format!("Completed ({})", done.len())}</summary>
                                    <div class="divide-y divide-slate-100">{done.into_iter().map(|t| done_item(t, now)).collect_view()}</div>
                                </details>
                            })}
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                })}
            </Transition>
            // Inside a Transition: the user is read from a resource, and read outside one
            // the browser's first render (before it has the user) would differ from the
            // server's HTML.
            <Transition fallback=|| ()>
            {move || can_act.get().then(|| view! {
                <form class="mt-3 flex flex-wrap items-center gap-2" data-testid="new-task"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        ops.action.dispatch(Op::Create(NewTask { customer_id, title: title.get_untracked(), ..NewTask::default() }));
                        title.set(String::new());
                    }>
                    <input type="text" class="input h-9 min-w-64 flex-1" placeholder="A task for the owner, due within the tier's SLA" aria-label="New task"
                        data-testid="new-task-title" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                    <button type="submit" class="btn-secondary h-9" data-testid="new-task-add">"Add task"</button>
                </form>
            })}
            </Transition>
            {ops_error(ops)}
        </section>
    }
}
