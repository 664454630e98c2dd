//! One customer: profile, subscription, contacts, timeline and notes.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vcsm::auth::Role;
use vcsm::money::format_money;
use vcsm::timefmt::{ago, date, date_time};

use super::alerts::CustomerAlerts;
use super::churn::ChurnPanel;
use super::components::{
    user_can, user_known, ErrorNotice, FieldError, Loading, PageHeader, StageBadge, TierBadge,
};
use super::expansion::CustomerExpansion;
use super::health::HealthPanel;
use super::playbooks::CustomerPlaybooks;
use super::tasks::CustomerTasks;
use crate::api::customers::{get_customer, AddContact, AddNote, ArchiveCustomer};
use crate::api::events::customer_events;
use crate::dto::{CustomerDetail, TimelineKind};
use crate::error::AppError;
use vcsm::customers::ContactRole;

/// The `:id` route parameter; an invalid id becomes a clear 404.
pub fn id_param() -> Memo<Result<i64, AppError>> {
    let params = use_params_map();
    Memo::new(move |_| {
        let raw = params.read().get("id").unwrap_or_default();
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| AppError::NotFound(format!("“{raw}” is not a customer id.")))
    })
}

#[component]
fn Field(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="min-w-0">
            <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
            <dd class="mt-0.5 break-words text-sm text-slate-900">{value}</dd>
        </div>
    }
}

fn or_dash(v: Option<String>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or_else(|| "—".into())
}

#[component]
fn NoteForm(customer_id: i64, action: ServerAction<AddNote>) -> impl IntoView {
    let error = move || {
        action.value().get().and_then(|r| r.err()).map(|e| {
            e.field_errors()
                .and_then(|v| v.for_field("body").map(str::to_string))
                .unwrap_or_else(|| e.to_string())
        })
    };
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            if let Some(f) = form.get() {
                f.reset();
            }
        }
    });
    view! {
        <ActionForm action node_ref=form attr:class="border-b border-slate-100 p-4">
            <input type="hidden" name="customer_id" value=customer_id.to_string()/>
            <label class="label" for="note-body">"Add a note"</label>
            <textarea id="note-body" name="body" rows="2" maxlength="10000" required class="input" placeholder="What happened? What's next?"></textarea>
            <Show when=move || error().is_some()>
                <p class="mt-1 text-xs text-red-600" role="alert">{error}</p>
            </Show>
            <div class="mt-2 flex justify-end">
                <button type="submit" class="btn-secondary" disabled=move || action.pending().get()>"Save note"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn ContactForm(customer_id: i64, action: ServerAction<AddContact>) -> impl IntoView {
    let err = move |field: &'static str| {
        Signal::derive(move || {
            action.value().get().and_then(|r| r.err()).and_then(|e| {
                e.field_errors()
                    .and_then(|v| v.for_field(field).map(str::to_string))
            })
        })
    };
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            if let Some(f) = form.get() {
                f.reset();
            }
        }
    });
    view! {
        <details class="border-t border-slate-100 px-5 py-3" data-testid="add-contact">
            <summary class="cursor-pointer text-sm font-medium text-indigo-700">"Add a contact"</summary>
            <ActionForm action node_ref=form attr:class="mt-3 space-y-3" attr:novalidate=true>
                <input type="hidden" name="customer_id" value=customer_id.to_string()/>
                <div><label class="label" for="c-name">"Name"</label><input class="input" id="c-name" name="contact[name]" maxlength="200"/><FieldError message=err("name")/></div>
                <div><label class="label" for="c-email">"E-mail"</label><input class="input" id="c-email" name="contact[email]" type="email"/><FieldError message=err("email")/></div>
                <div><label class="label" for="c-title">"Title"</label><input class="input" id="c-title" name="contact[title]" maxlength="200"/><FieldError message=err("title")/></div>
                <div>
                    <label class="label" for="c-role">"Role"</label>
                    <select class="input" id="c-role" name="contact[role]">
                        {ContactRole::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == ContactRole::User>{r.label()}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="btn-secondary" disabled=move || action.pending().get()>"Add contact"</button>
            </ActionForm>
        </details>
    }
}

fn kind_style(kind: TimelineKind) -> (&'static str, &'static str) {
    match kind {
        TimelineKind::Usage => ("Usage", "bg-indigo-100 text-indigo-700"),
        TimelineKind::Note => ("Note", "bg-amber-100 text-amber-800"),
        TimelineKind::Ticket => ("Support", "bg-sky-100 text-sky-700"),
        TimelineKind::Billing => ("Billing", "bg-emerald-100 text-emerald-700"),
        TimelineKind::Email => ("E-mail", "bg-violet-100 text-violet-700"),
        TimelineKind::Task => ("Task", "bg-teal-100 text-teal-700"),
        TimelineKind::Alert => ("Alert", "bg-red-100 text-red-700"),
    }
}

/// Weekly events (bars) and active users (line) over the last six months, as an SVG the
/// server draws: nothing to download, readable before hydration.
fn usage_chart(weeks: &[vcsm::activity::WeekUsage]) -> impl IntoView {
    const W: f64 = 640.0;
    const H: f64 = 120.0;
    let n = weeks.len().max(1) as f64;
    let slot = W / n;
    let max_events = weeks.iter().map(|w| w.events).max().unwrap_or(0).max(1) as f64;
    let max_users = weeks.iter().map(|w| w.users).max().unwrap_or(0).max(1) as f64;
    let total: u64 = weeks.iter().map(|w| w.events).sum();
    let peak_users = weeks.iter().map(|w| w.users).max().unwrap_or(0);
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let h = (w.events as f64 / max_events * (H - 10.0)).max(if w.events > 0 { 1.0 } else { 0.0 });
            view! {
                <rect x=format!("{:.1}", i as f64 * slot + 1.0) y=format!("{:.1}", H - h) width=format!("{:.1}", (slot - 2.0).max(1.0)) height=format!("{h:.1}")
                    class="fill-indigo-200">
                    <title>{format!("Week of {}: {} events, {} active users", vcsm::timefmt::date(w.week), w.events, w.users)}</title>
                </rect>
            }
        })
        .collect_view();
    let line = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * slot + slot / 2.0,
                H - w.users as f64 / max_users * (H - 10.0)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let first = weeks
        .first()
        .map(|w| vcsm::timefmt::date(w.week))
        .unwrap_or_default();
    view! {
        <section class="card mt-6 p-5" data-testid="usage-chart">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="text-sm font-semibold text-slate-700">"Usage, week by week"</h2>
                <p class="text-xs text-slate-500">
                    <span class="mr-3"><span class="mr-1 inline-block h-2 w-3 bg-indigo-200 align-middle"></span>{format!("{total} events")}</span>
                    <span><span class="mr-1 inline-block h-0.5 w-3 bg-amber-500 align-middle"></span>{format!("active users (up to {peak_users} a week)")}</span>
                </p>
            </div>
            <svg viewBox=format!("0 0 {W} {H}") class="mt-3 h-32 w-full" preserveAspectRatio="none" role="img"
                aria-label=format!("Weekly events and active users since {first}")>
                {bars}
                <polyline points=line fill="none" class="stroke-amber-500" stroke-width="2" vector-effect="non-scaling-stroke"/>
            </svg>
            <p class="mt-1 flex justify-between text-xs text-slate-400"><span>{first}</span><span>"this week"</span></p>
        </section>
    }
}

fn render(
    d: CustomerDetail,
    can_edit: bool,
    is_admin: bool,
    actions: DetailActions,
) -> impl IntoView {
    let DetailActions {
        note: note_action,
        archive,
        contact,
    } = actions;
    let r = d.row.clone();
    let now = d.now;
    let arr = format_money(r.mrr_minor * 12, &r.currency);
    let subtitle = [r.domain.clone(), r.external_id.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let id = r.id;
    view! {
        <PageHeader title=r.name.clone() subtitle=subtitle>
            {can_edit.then(|| view! {
                <a class="btn-secondary" href=format!("/customers/{id}/edit") data-testid="edit-customer">"Edit"</a>
                <ActionForm action=archive>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="archived" value=(!r.archived).to_string()/>
                    <button type="submit" class=if r.archived { "btn-secondary" } else { "btn-danger" }>
                        {if r.archived { "Restore" } else { "Archive" }}
                    </button>
                </ActionForm>
            })}
        </PageHeader>
        {r.archived.then(|| view! {
            <p class="mb-4 rounded-lg border border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-800">"This customer is archived: hidden from lists, all data kept."</p>
        })}
        <div class="mb-6 flex flex-wrap items-center gap-2">
            <TierBadge tier=r.tier/>
            <StageBadge stage=r.stage/>
            {d.tags.iter().map(|t| view! { <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">{t.clone()}</span> }).collect_view()}
        </div>
        <div class="grid gap-4 md:grid-cols-4">
            <div class="card p-4"><p class="text-xs text-slate-500">"MRR"</p><p class="text-lg font-semibold tabular-nums">{format_money(r.mrr_minor, &r.currency)}</p><p class="text-xs text-slate-500">{format!("ARR {arr}")}</p></div>
            <div class="card p-4"><p class="text-xs text-slate-500">"Events, last 30 days"</p><p class="text-lg font-semibold tabular-nums" data-testid="events-30d">{d.events_30d}</p></div>
            <div class="card p-4"><p class="text-xs text-slate-500">"Open tickets"</p><p class="text-lg font-semibold tabular-nums">{d.open_tickets}</p></div>
            <div class="card p-4"><p class="text-xs text-slate-500">"Last seen"</p><p class="text-lg font-semibold">{r.last_seen_at.map(|t| ago(t, now)).unwrap_or_else(|| "never".into())}</p></div>
        </div>
        {usage_chart(&d.weekly_usage)}
        <HealthPanel customer_id=id can_edit=can_edit/>
        <ChurnPanel customer_id=id/>
        <CustomerAlerts customer_id=id/>
        <CustomerTasks customer_id=id/>
        <CustomerExpansion customer_id=id/>
        <CustomerPlaybooks customer_id=id/>
        <div class="mt-6 grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-1">
                <section class="card p-5">
                    <h2 class="mb-4 text-sm font-semibold text-slate-700">"Profile"</h2>
                    <dl class="grid grid-cols-2 gap-4">
                        <Field label="Plan" value=or_dash(r.plan.clone())/>
                        <Field label="Seats" value=r.seats.to_string()/>
                        <Field label="Contract start" value=or_dash(d.contract_start.map(date))/>
                        <Field label="Renewal" value=or_dash(r.renewal_date.map(date))/>
                        <Field label="Owner" value=or_dash(r.owner_name.clone())/>
                        <Field label="Customer since" value=date(d.created_at.date_naive())/>
                        {d.churned_on.map(|c| view! { <Field label="Churned on" value=date(c)/> })}
                    </dl>
                </section>
                <section class="card p-5">
                    <h2 class="mb-3 text-sm font-semibold text-slate-700">"Subscription"</h2>
                    {match d.subscription.clone() {
                        Some(s) => view! {
                            <dl class="grid grid-cols-2 gap-4">
                                <Field label="Status" value=s.status.replace('_', " ")/>
                                <Field label="Billing" value=format!("{} × {} / {}", or_dash(s.plan.clone()), s.quantity, s.interval)/>
                                <Field label="MRR" value=format_money(s.mrr_minor, &s.currency)/>
                                <Field label="Period ends" value=or_dash(s.current_period_end.map(|t| date(t.date_naive())))/>
                                {s.canceled_at.map(|c| view! { <Field label="Canceled" value=date(c.date_naive())/> })}
                                <Field label="Payments" value=match s.payment_status.as_str() {
                                    "failing" => format!("Failing ({} attempts)", s.failed_attempts),
                                    "delinquent" => "Delinquent".to_string(),
                                    _ => "Good".to_string(),
                                }/>
                            </dl>
                        }.into_any(),
                        None => view! { <p class="text-sm text-slate-500">"No subscription on record."</p> }.into_any(),
                    }}
                </section>
                <section class="card">
                    <h2 class="border-b border-slate-100 px-5 py-3 text-sm font-semibold text-slate-700">{format!("Contacts ({})", d.contacts.len())}</h2>
                    {if d.contacts.is_empty() {
                        view! { <p class="px-5 py-4 text-sm text-slate-500">"No contacts yet."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="divide-y divide-slate-100" data-testid="contacts">
                                {d.contacts.iter().map(|c| view! {
                                    <li class="px-5 py-2.5">
                                        <div class="flex items-center justify-between gap-2">
                                            <span class="truncate text-sm font-medium">{c.name.clone()}</span>
                                            <span class="shrink-0 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">{c.role.label()}</span>
                                        </div>
                                        <p class="truncate text-xs text-slate-500">{[c.title.clone(), c.email.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ")}</p>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                    {can_edit.then(|| view! { <ContactForm customer_id=id action=contact/> })}
                </section>
            </div>
            <section class="card lg:col-span-2">
                <h2 class="border-b border-slate-100 px-5 py-3 text-sm font-semibold text-slate-700">"Timeline"</h2>
                {can_edit.then(|| view! { <NoteForm customer_id=id action=note_action/> })}
                {if d.timeline.is_empty() {
                    view! { <p class="px-5 py-6 text-sm text-slate-500">"Nothing has happened yet: usage, notes, tickets and billing will appear here."</p> }.into_any()
                } else {
                    view! {
                        <ol class="divide-y divide-slate-100" data-testid="timeline">
                            {d.timeline.into_iter().map(|t| {
                                let (kind, class) = kind_style(t.kind);
                                view! {
                                    <li class="flex gap-3 px-5 py-3">
                                        <span class=format!("mt-0.5 h-fit shrink-0 rounded px-1.5 py-0.5 text-xs font-medium {class}")>{kind}</span>
                                        <div class="min-w-0 flex-1">
                                            <p class="text-sm font-medium break-words" class:text-red-700=t.alert>{t.title}</p>
                                            {t.detail.map(|x| view! { <p class="text-sm text-slate-600 whitespace-pre-line break-words">{x}</p> })}
                                            {t.more.map(|all| view! {
                                                <details class="text-xs text-slate-600" data-testid="timeline-more">
                                                    <summary class="cursor-pointer text-indigo-700">"Every event that day"</summary>
                                                    <ul class="mt-1 columns-2">{all.into_iter().map(|x| view! { <li>{x}</li> }).collect_view()}</ul>
                                                </details>
                                            })}
                                            <p class="text-xs text-slate-500" title=date_time(t.at)>
                                                {ago(t.at, now)}
                                                {t.actor.map(|a| format!(" · {a}"))}
                                            </p>
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
        </div>
        {is_admin.then(|| view! { <EventLog customer_id=id/> })}
    }
}

/// The domain events about the customer, newest first: what the system saw happen, and
/// what playbooks start from (admins).
#[component]
fn EventLog(customer_id: i64) -> impl IntoView {
    let usage = RwSignal::new(false);
    let events = Resource::new(
        move || (customer_id, usage.get()),
        |(id, usage)| customer_events(id, usage),
    );
    view! {
        <section class="card mt-6" data-testid="domain-events">
            <div class="flex flex-wrap items-center justify-between gap-2 border-b border-slate-100 px-5 py-3">
                <h2 class="text-sm font-semibold text-slate-700">
                    "Events" <span class="ml-1 font-normal text-slate-500">"· what playbooks start from, newest first"</span>
                </h2>
                <label class="flex items-center gap-2 text-sm text-slate-600">
                    <input type="checkbox" data-testid="events-usage" prop:checked=move || usage.get() on:change=move |ev| usage.set(event_target_checked(&ev))/>
                    "Show product events"
                </label>
            </div>
            <Transition fallback=Loading>
                {move || events.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <p class="px-5 py-4 text-sm text-slate-500">"No events yet: changes to this customer, its health, billing and usage will appear here."</p> }.into_any(),
                    Ok(list) => view! {
                        <ol class="divide-y divide-slate-100">
                            {list.into_iter().map(|e| view! {
                                <li class="flex flex-wrap items-baseline gap-x-3 px-5 py-2 text-sm" data-kind=e.kind>
                                    <span class="w-60 shrink-0 font-medium text-slate-700">{e.label}</span>
                                    <span class="min-w-0 flex-1 break-words text-slate-600">{e.summary}</span>
                                    <span class="shrink-0 text-xs text-slate-500" title=format!("recorded {}", date_time(e.recorded_at))>{date_time(e.occurred_at)}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                    Err(e) => view! { <div class="p-4"><ErrorNotice error=e/></div> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The page's actions; each one reloads the customer when it completes.
#[derive(Clone, Copy)]
struct DetailActions {
    note: ServerAction<AddNote>,
    archive: ServerAction<ArchiveCustomer>,
    contact: ServerAction<AddContact>,
}

#[component]
pub fn CustomerDetailPage() -> impl IntoView {
    let id = id_param();
    let actions = DetailActions {
        note: ServerAction::new(),
        archive: ServerAction::new(),
        contact: ServerAction::new(),
    };
    let data = Resource::new(
        move || {
            (
                id.get(),
                actions.note.version().get(),
                actions.archive.version().get(),
                actions.contact.version().get(),
            )
        },
        |(id, _, _, _)| async move {
            match id {
                Ok(id) => get_customer(id).await,
                Err(e) => Err(e),
            }
        },
    );
    let can_edit = user_can(Role::can_edit_customers);
    let is_admin = user_can(Role::can_admin);
    // The page's panels create resources of their own: render once the user is known.
    let user_known = user_known();
    view! {
        <a href="/customers" class="mb-4 inline-block text-sm text-slate-500 hover:text-slate-800">"← Customers"</a>
        <Transition fallback=Loading>
            {move || data.get().filter(|_| user_known.get()).map(|r| match r {
                Ok(d) => render(d, can_edit.get(), is_admin.get(), actions).into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}
