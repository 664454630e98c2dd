//! The playbooks (`/playbooks`): each with its trigger, status and figures, turned on,
//! paused or off by admins and managers; one playbook's page (`/playbooks/:key`) with its
//! funnel, split tests, newest enrollments and versions, and enrolling by hand; a
//! customer's playbook history (on its page) with what each step did and why; and the
//! e-mail templates rendered for a real customer.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vcsm::auth::Role;
use vcsm::listing::CustomerQuery;
use vcsm::playbooks::report::{percent, Funnel, SplitReport};
use vcsm::playbooks::stats::Tally;
use vcsm::tasks::StepOutcomes;
use vcsm::timefmt::{ago, date_time};

use super::components::{user_can, ErrorNotice, Loading, PageHeader};
use crate::api::playbooks::{
    change_enrollment, customer_playbooks, enroll_customer, enroll_matching, get_playbook,
    list_playbooks, preview_template, set_playbook_status,
};
use crate::dto::playbooks::{
    EnrollmentChange, EnrollmentHistory, PlaybookDetail, PlaybookRow, StepRunRow, TemplatePreview,
    TemplateRow,
};
use crate::error::AppError;

fn status_badge(status: &str) -> &'static str {
    match status {
        "on" | "active" | "completed" | "sent" => {
            "rounded bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-800"
        }
        "paused" | "waiting" | "pending" | "unsent" | "holdout" => {
            "rounded bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-800"
        }
        "failed" | "dead" => "rounded bg-red-100 px-2 py-0.5 text-xs font-semibold text-red-800",
        _ => "rounded bg-slate-100 px-2 py-0.5 text-xs font-semibold text-slate-700",
    }
}

fn status_label(status: &str) -> String {
    match status {
        "on" => "On".into(),
        "off" => "Off".into(),
        "paused" => "Paused".into(),
        other => other.to_string(),
    }
}

/// A change of a playbook's status, and how many succeeded (the page reloads on those).
#[derive(Clone, Copy)]
struct StatusChange {
    action: Action<(String, String), Result<(), AppError>>,
    done: RwSignal<u64>,
}

fn new_status_change() -> StatusChange {
    let action = Action::new(|(key, status): &(String, String)| {
        let (key, status) = (key.clone(), status.clone());
        async move { set_playbook_status(key, status).await }
    });
    let done = RwSignal::new(0_u64);
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            done.update(|n| *n += 1);
        }
    });
    StatusChange { action, done }
}

/// Turn on / pause / turn off, for the statuses it isn't in.
fn status_buttons(key: String, status: String, change: StatusChange) -> impl IntoView {
    let choices: Vec<(&'static str, &'static str)> =
        [("on", "Turn on"), ("paused", "Pause"), ("off", "Turn off")]
            .into_iter()
            .filter(|(s, _)| *s != status)
            .collect();
    view! {
        <div class="flex flex-wrap gap-1">
            {choices.into_iter().map(|(s, label)| {
                let key = key.clone();
                view! {
                    <button type="button" data-testid=format!("set-{s}")
                        class=if s == "on" { "btn-primary h-8 text-xs" } else { "btn-secondary h-8 text-xs" }
                        disabled=move || change.action.pending().get()
                        on:click=move |_| { change.action.dispatch((key.clone(), s.to_string())); }>
                        {label}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

/// `/playbooks`.
#[component]
pub fn PlaybooksPage() -> impl IntoView {
    let change = new_status_change();
    let data = Resource::new(move || change.done.get(), |_| list_playbooks());
    let can_manage = user_can(Role::can_manage_playbooks);
    let is_admin = user_can(Role::can_admin);
    view! {
        <PageHeader title="Playbooks".into() subtitle="What the virtual CSM does on its own: each playbook starts on its trigger, and its steps e-mail, create tasks, post to Slack and branch on what they read.".into()>
            // Inside a Transition: the user is read from a resource, and outside one the
            // server would render before it loads while the browser hydrates after.
            <Transition fallback=|| ()>
                {move || is_admin.get().then(|| view! { <a href="/outbox" class="btn-secondary">"Outbox"</a> })}
            </Transition>
        </PageHeader>
        {move || change.action.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="mb-3 text-sm text-red-600" role="alert" data-testid="status-error">{e.sentence()}</p>
        })}
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(list) => view! {
                    {playbook_table(list.playbooks, change, can_manage)}
                    <TemplatePreviews templates=list.templates/>
                }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

fn playbook_table(
    rows: Vec<PlaybookRow>,
    change: StatusChange,
    can_manage: Signal<bool>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <div class="card p-8 text-center text-sm text-slate-500">"No playbooks yet."</div> }
            .into_any();
    }
    view! {
        <div class="card overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="playbooks">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="px-4 py-2 font-medium">"Playbook"</th>
                        <th class="px-4 py-2 font-medium">"Trigger"</th>
                        <th class="px-4 py-2 font-medium">"Status"</th>
                        <th class="px-4 py-2 text-right font-medium">"Live"</th>
                        <th class="px-4 py-2 text-right font-medium">"Entered, 30 days"</th>
                        <th class="px-4 py-2 text-right font-medium">"Goal rate"</th>
                        <th class="px-4 py-2 font-medium"></th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|p| {
                        let rate = Tally { entered: p.goal_tracked, met: p.goal_met }.rate();
                        let (key, status) = (p.key.clone(), p.status.clone());
                        view! {
                            <tr class="border-t border-slate-100" data-testid="playbook-row" data-key=p.key.clone() data-status=p.status.clone()>
                                <td class="px-4 py-3">
                                    <a href=format!("/playbooks/{}", p.key) class="font-medium text-indigo-700 hover:underline">{p.name.clone()}</a>
                                    <p class="text-xs text-slate-500">{p.key.clone()}{p.version.map(|v| format!(" · v{v}"))}</p>
                                </td>
                                <td class="px-4 py-3 text-slate-600">{p.trigger.clone()}</td>
                                <td class="px-4 py-3"><span class=status_badge(&p.status) data-testid="playbook-status">{status_label(&p.status)}</span></td>
                                <td class="px-4 py-3 text-right tabular-nums">{p.live}</td>
                                <td class="px-4 py-3 text-right tabular-nums">{p.entered_30d}</td>
                                <td class="px-4 py-3 text-right tabular-nums" title=format!("{} of {} met the goal", p.goal_met, p.goal_tracked)>{percent(rate)}</td>
                                <td class="px-4 py-3">
                                    {move || can_manage.get().then(|| status_buttons(key.clone(), status.clone(), change))}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The templates, each renderable for a real customer.
#[component]
fn TemplatePreviews(templates: Vec<TemplateRow>) -> impl IntoView {
    let template = RwSignal::new(templates.first().map(|t| t.key.clone()).unwrap_or_default());
    let customer = RwSignal::new(String::new());
    let preview = Action::new(|(t, c): &(String, String)| {
        let (t, c) = (t.clone(), c.clone());
        async move { preview_template(t, c).await }
    });
    view! {
        <section class="card mt-8 p-5" data-testid="template-previews">
            <h2 class="text-sm font-semibold text-slate-700">"E-mail templates"</h2>
            <p class="mt-1 text-xs text-slate-500">"Rendered exactly as the outbox sends them, for a real customer and its primary contact."</p>
            <form class="mt-3 flex flex-wrap items-end gap-2" on:submit=move |ev| {
                ev.prevent_default();
                preview.dispatch((template.get_untracked(), customer.get_untracked()));
            }>
                <div>
                    <label class="label" for="preview-template">"Template"</label>
                    <select id="preview-template" class="input" data-testid="preview-template"
                        on:change=move |ev| template.set(event_target_value(&ev))>
                        {templates.into_iter().map(|t| {
                            let selected = t.key == template.get_untracked();
                            view! { <option value=t.key.clone() selected=selected>{format!("{} ({})", t.name, t.key)}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div>
                    <label class="label" for="preview-customer">"Customer (name or id)"</label>
                    <input id="preview-customer" class="input" data-testid="preview-customer" required
                        prop:value=move || customer.get() on:input=move |ev| customer.set(event_target_value(&ev))/>
                </div>
                <button type="submit" class="btn-secondary" data-testid="preview-button" disabled=move || preview.pending().get()>"Preview for customer"</button>
            </form>
            {move || preview.value().get().map(|r| match r {
                Ok(p) => preview_view(p).into_any(),
                Err(e) => view! { <p class="mt-3 text-sm text-red-600" role="alert" data-testid="preview-error">{e.sentence()}</p> }.into_any(),
            })}
        </section>
    }
}

fn preview_view(p: TemplatePreview) -> impl IntoView {
    let to = match &p.recipient {
        Ok(email) => format!("To {email}"),
        Err(why) => format!("No recipient: {why}"),
    };
    view! {
        <div class="mt-4 rounded-lg border border-slate-200" data-testid="preview">
            <div class="border-b border-slate-100 px-4 py-2 text-xs text-slate-500">
                <a class="text-indigo-700 hover:underline" href=format!("/customers/{}", p.customer_id)>{p.customer_name.clone()}</a>
                {format!(" · {} · {to}", p.template)}
            </div>
            {match p.message {
                Ok(m) => view! {
                    <div class="px-4 py-3">
                        <p class="font-medium text-slate-900" data-testid="preview-subject">{m.subject}</p>
                        <pre class="mt-2 whitespace-pre-wrap font-sans text-sm text-slate-700" data-testid="preview-text">{m.text}</pre>
                        {m.html.map(|h| view! {
                            <details class="mt-2"><summary class="cursor-pointer text-xs text-indigo-700">"HTML"</summary>
                                <pre class="mt-1 overflow-x-auto text-xs">{h}</pre>
                            </details>
                        })}
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="px-4 py-3 text-sm text-red-600" data-testid="preview-template-error">{format!("The template doesn't render: {e}")}</p> }.into_any(),
            }}
        </div>
    }
}

/// `/playbooks/:key`.
#[component]
pub fn PlaybookPage() -> impl IntoView {
    let params = use_params_map();
    let key = Memo::new(move |_| params.read().get("key").unwrap_or_default());
    let change = new_status_change();
    let enrolled = RwSignal::new(0_u64);
    let enroll = new_enroll(enrolled);
    let data = Resource::new(
        move || (key.get(), change.done.get(), enrolled.get()),
        |(k, _, _)| get_playbook(k),
    );
    let can_manage = user_can(Role::can_manage_playbooks);
    view! {
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(d) => playbook_view(d, change, enroll, can_manage).into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

fn playbook_view(
    d: PlaybookDetail,
    change: StatusChange,
    enroll: Enroll,
    can_manage: Signal<bool>,
) -> impl IntoView {
    let (key, status) = (d.key.clone(), d.status.clone());
    let subtitle = format!(
        "{} · {}{}",
        d.key,
        d.trigger,
        d.goal
            .as_ref()
            .map(|g| format!(" · goal: {g}"))
            .unwrap_or_default()
    );
    let now = d.now;
    let version = d
        .current_version
        .map(|v| format!("v{v}"))
        .unwrap_or_default();
    let enroll_key = d.key.clone();
    view! {
        <PageHeader title=d.name.clone() subtitle=subtitle>
            <span class=status_badge(&d.status) data-testid="playbook-status">{status_label(&d.status)}</span>
            {move || can_manage.get().then(|| status_buttons(key.clone(), status.clone(), change))}
        </PageHeader>
        {move || change.action.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="mb-3 text-sm text-red-600" role="alert">{e.sentence()}</p>
        })}
        {(!d.description.is_empty()).then(|| view! { <p class="mb-4 max-w-3xl text-sm text-slate-600">{d.description.clone()}</p> })}
        {move || can_manage.get().then(|| view! { <EnrollForm key=enroll_key.clone() enroll/> })}
        <div class="grid gap-4 lg:grid-cols-2">
            {funnel_card(format!("This version ({version})"), d.funnel.clone(), "funnel")}
            {funnel_card("All versions".into(), d.funnel_all.clone(), "funnel-all")}
        </div>
        {d.splits.into_iter().map(split_card).collect_view()}
        {outcomes_card(d.task_outcomes)}
        <section class="mt-6">
            <h2 class="mb-2 text-sm font-semibold text-slate-700">"Newest enrollments"</h2>
            {if d.enrollments.is_empty() {
                view! { <div class="card p-6 text-center text-sm text-slate-500" data-testid="enrollments-empty">"Nobody has entered yet."</div> }.into_any()
            } else {
                view! {
                    <div class="card overflow-x-auto">
                        <table class="min-w-full text-sm" data-testid="enrollments">
                            <thead>
                                <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                                    <th class="px-4 py-2 font-medium">"Customer"</th>
                                    <th class="px-4 py-2 font-medium">"Version"</th>
                                    <th class="px-4 py-2 font-medium">"Status"</th>
                                    <th class="px-4 py-2 font-medium">"Step"</th>
                                    <th class="px-4 py-2 font-medium">"Due"</th>
                                    <th class="px-4 py-2 font-medium">"Entered"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {d.enrollments.into_iter().map(|e| view! {
                                    <tr class="border-t border-slate-100 align-top" data-testid="enrollment-row">
                                        <td class="px-4 py-2"><a class="text-indigo-700 hover:underline" href=format!("/customers/{}", e.customer_id)>{e.customer_name.clone()}</a></td>
                                        <td class="px-4 py-2 text-slate-600">{e.version.map(|v| format!("v{v}")).unwrap_or_default()}</td>
                                        <td class="px-4 py-2">
                                            <span class=status_badge(&e.status)>{e.status.clone()}</span>
                                            {e.finish.clone().filter(|f| f != "Completed").map(|f| view! { <p class="mt-1 text-xs text-slate-500">{f}</p> })}
                                        </td>
                                        <td class="px-4 py-2 text-slate-600">{e.step.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td class="px-4 py-2 whitespace-nowrap text-slate-600">{e.due_at.map(date_time).unwrap_or_else(|| "—".into())}</td>
                                        <td class="px-4 py-2 whitespace-nowrap text-slate-600" title=date_time(e.entered_at)>{ago(e.entered_at, now)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
        <section class="mt-6 grid gap-4 lg:grid-cols-3">
            <div class="card p-5">
                <h2 class="mb-2 text-sm font-semibold text-slate-700">"Versions"</h2>
                <ul class="space-y-1 text-sm" data-testid="versions">
                    {d.versions.into_iter().map(|v| view! {
                        <li class="flex justify-between gap-2">
                            <span class:font-semibold=v.current>{format!("v{}{}", v.version, if v.current { " (current)" } else { "" })}</span>
                            <span class="text-xs text-slate-500">{format!("{} · {}", date_time(v.created_at), v.created_by.clone().unwrap_or_else(|| "library / API".into()))}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </div>
            <div class="card p-5 lg:col-span-2">
                <h2 class="mb-2 text-sm font-semibold text-slate-700">"Definition (current version, read-only)"</h2>
                <pre class="max-h-96 overflow-auto rounded bg-slate-50 p-3 text-xs" data-testid="definition">{d.definition}</pre>
            </div>
        </section>
    }
}

/// Enrolling a customer by hand: the action and the text typed live in the page, so a
/// reload of the page's data after an enrollment keeps the answer shown.
#[derive(Clone, Copy)]
struct Enroll {
    action: Action<(String, String), Result<i64, AppError>>,
    who: RwSignal<String>,
}

fn new_enroll(enrolled: RwSignal<u64>) -> Enroll {
    let action = Action::new(|(k, c): &(String, String)| {
        let (k, c) = (k.clone(), c.clone());
        async move { enroll_customer(k, c).await }
    });
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            enrolled.update(|n| *n += 1);
        }
    });
    Enroll {
        action,
        who: RwSignal::new(String::new()),
    }
}

#[component]
fn EnrollForm(key: String, enroll: Enroll) -> impl IntoView {
    let Enroll {
        action: enroll,
        who,
    } = enroll;
    view! {
        <form class="card mb-4 flex flex-wrap items-end gap-2 p-4" data-testid="enroll-form" on:submit=move |ev| {
            ev.prevent_default();
            enroll.dispatch((key.clone(), who.get_untracked()));
        }>
            <div>
                <label class="label" for="enroll-customer">"Enroll a customer by hand (name or id)"</label>
                <input id="enroll-customer" class="input" data-testid="enroll-customer" required
                    prop:value=move || who.get() on:input=move |ev| who.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="btn-primary" data-testid="enroll-button" disabled=move || enroll.pending().get()>"Enroll"</button>
            {move || enroll.value().get().map(|r| match r {
                Ok(id) => view! { <span class="text-sm text-emerald-700" data-testid="enroll-result">{format!("Enrolled (enrollment #{id}).")}</span> }.into_any(),
                Err(e) => view! { <span class="text-sm text-red-600" role="alert" data-testid="enroll-error">{e.sentence()}</span> }.into_any(),
            })}
        </form>
    }
}

/// Enrolling everyone the customer list's filters match in a playbook (on the customer
/// list, for admins and managers): who entered, and who may not and why.
#[component]
pub fn EnrollMatching(query: Memo<CustomerQuery>, matching: Signal<Option<u64>>) -> impl IntoView {
    let playbooks = Resource::new(|| (), |_| list_playbooks());
    let chosen = RwSignal::new(String::new());
    let action =
        Action::new(|(key, q): &(String, CustomerQuery)| enroll_matching(key.clone(), q.clone()));
    view! {
        <details class="card mb-4 p-4 text-sm" data-testid="enroll-matching">
            <summary class="cursor-pointer font-medium text-slate-700">
                {move || match matching.get() {
                    Some(n) => format!("Enroll the {n} customers matching these filters in a playbook…"),
                    None => "Enroll the customers matching these filters in a playbook…".into(),
                }}
            </summary>
            <form class="mt-3 flex flex-wrap items-end gap-2" on:submit=move |ev| {
                ev.prevent_default();
                action.dispatch((chosen.get_untracked(), query.get_untracked()));
            }>
                <Suspense fallback=|| ()>
                    {move || playbooks.get().and_then(Result::ok).map(|l| view! {
                        <div>
                            <label class="label" for="enroll-playbook">"Playbook"</label>
                            <select id="enroll-playbook" class="input w-auto" data-testid="enroll-playbook" required
                                on:change=move |ev| chosen.set(event_target_value(&ev))>
                                <option value="">"Choose…"</option>
                                {l.playbooks.into_iter().map(|p| view! {
                                    <option value=p.key.clone()>{format!("{} ({})", p.name, status_label(&p.status))}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    })}
                </Suspense>
                <button type="submit" class="btn-primary" data-testid="enroll-matching-button"
                    disabled=move || action.pending().get() || chosen.get().is_empty()>"Enroll them"</button>
            </form>
            <p class="mt-2 text-xs text-slate-500">"Each enters by the playbook's re-entry rule and entry conditions; archived customers never do."</p>
            {move || action.value().get().map(|r| match r {
                Ok(done) => view! {
                    <div class="mt-3" data-testid="enroll-matching-result">
                        <p class="text-emerald-700">{format!(
                            "{} of {} enrolled in “{}”.{}",
                            done.enrolled,
                            done.matched,
                            done.playbook_name,
                            if done.refused_count > 0 { format!(" {} may not enter now:", done.refused_count) } else { String::new() }
                        )}</p>
                        <ul class="mt-1 max-h-48 list-disc overflow-y-auto pl-5 text-xs text-slate-600">
                            {done.refused.into_iter().map(|r| view! {
                                <li data-testid="refused-customer">
                                    <a class="text-indigo-700 hover:underline" href=format!("/customers/{}", r.customer_id)>{r.customer_name}</a>
                                    {format!(": {}", r.reason)}
                                </li>
                            }).collect_view()}
                        </ul>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="mt-3 text-red-600" role="alert" data-testid="enroll-matching-error">{e.sentence()}</p> }.into_any(),
            })}
        </details>
    }
}

fn funnel_card(title: String, f: Funnel, testid: &'static str) -> impl IntoView {
    let line = |label: String, value: u64, indent: bool| {
        let testid = (label == "Entered").then_some("funnel-entered");
        view! {
            <div class="flex justify-between gap-3 py-0.5" class:pl-4=indent class:text-slate-500=indent data-testid=testid>
                <dt>{label}</dt>
                <dd class="tabular-nums">{value}</dd>
            </div>
        }
    };
    view! {
        <section class="card p-5" data-testid=testid>
            <h2 class="mb-3 text-sm font-semibold text-slate-700">{title}</h2>
            <dl class="text-sm">
                {line("Entered".into(), f.entered, false)}
                {line("Live now".into(), f.live, false)}
                {f.at_steps.iter().map(|s| line(
                    if s.label.is_empty() { format!("at {}", s.step) } else { format!("at {} ({})", s.step, s.label) },
                    s.count,
                    true,
                )).collect_view()}
                {f.waiting.iter().map(|s| line(format!("waiting for “{}”", s.step), s.count, true)).collect_view()}
                {(f.paused > 0).then(|| line("of which paused".into(), f.paused, true))}
                {line("Completed".into(), f.completed, false)}
                {line("Exited early".into(), f.exited, false)}
                {f.exit_reasons.iter().map(|r| line(r.reason.clone(), r.count, true)).collect_view()}
                {line("Holdout".into(), f.holdout, false)}
                {line("Cancelled".into(), f.cancelled, false)}
                {line("Failed".into(), f.failed, false)}
            </dl>
            <div class="mt-3 border-t border-slate-100 pt-3 text-sm" data-testid="funnel-goal">
                {if f.with_goal() == 0 {
                    "No goal measured.".to_string()
                } else {
                    format!(
                        "Goal met {} · missed {} · open {} — rate {}",
                        f.goal_met, f.goal_missed, f.goal_open, percent(f.goal_rate())
                    )
                }}
            </div>
        </section>
    }
}

/// Which of the playbook's tasks worked: per step, the outcomes people recorded.
fn outcomes_card(steps: Vec<StepOutcomes>) -> impl IntoView {
    (!steps.is_empty()).then(|| view! {
        <section class="card mt-4 overflow-x-auto p-5" data-testid="task-outcomes">
            <h2 class="mb-1 text-sm font-semibold text-slate-700">"What its tasks came to"</h2>
            <p class="mb-2 text-xs text-slate-500">"Done tasks per step, by the outcome recorded. Worked: reached and engaged, meeting booked or risk averted."</p>
            <table class="min-w-full text-sm">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="py-2 pr-4 font-medium">"Step"</th>
                        <th class="py-2 pr-4 text-right font-medium">"Done"</th>
                        <th class="py-2 pr-4 text-right font-medium">"Worked"</th>
                        <th class="py-2 font-medium">"Outcomes"</th>
                    </tr>
                </thead>
                <tbody>
                    {steps.into_iter().map(|s| {
                        let rate = percent(s.worked_rate());
                        let outcomes = s.outcomes.iter()
                            .map(|(o, n)| format!("{} {n}", o.label()))
                            .collect::<Vec<_>>()
                            .join(" · ");
                        view! {
                            <tr class="border-b border-slate-50" data-testid="step-outcomes" data-step=s.step.clone()>
                                <td class="py-2 pr-4 font-mono text-xs">{s.step.clone()}</td>
                                <td class="py-2 pr-4 text-right tabular-nums">{s.done}</td>
                                <td class="py-2 pr-4 text-right tabular-nums">{rate}</td>
                                <td class="py-2 text-xs text-slate-600">{outcomes}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    })
}

fn split_card(s: SplitReport) -> impl IntoView {
    view! {
        <section class="card mt-4 overflow-x-auto p-5" data-testid="split">
            <h2 class="mb-2 text-sm font-semibold text-slate-700">{format!("Split test at {}", s.step)}</h2>
            <table class="min-w-full text-sm">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="py-2 pr-4 font-medium">"Arm"</th>
                        <th class="py-2 pr-4 text-right font-medium">"Entered"</th>
                        <th class="py-2 pr-4 text-right font-medium">"Goal met"</th>
                        <th class="py-2 pr-4 text-right font-medium">"Goal rate"</th>
                        <th class="py-2 font-medium">"Against the holdout"</th>
                    </tr>
                </thead>
                <tbody>
                    {s.arms.into_iter().map(|a| view! {
                        <tr class="border-t border-slate-100" data-testid="split-arm">
                            <td class="py-2 pr-4 font-medium">{a.name.clone()}</td>
                            <td class="py-2 pr-4 text-right tabular-nums">{a.tally.entered}</td>
                            <td class="py-2 pr-4 text-right tabular-nums">{a.tally.met}</td>
                            <td class="py-2 pr-4 text-right tabular-nums">{percent(a.tally.rate())}</td>
                            <td class="py-2">{match a.comparison {
                                Some(c) => format!("{}{}", c.text(), if c.is_clear() { " — a clear difference" } else { " — not clear yet" }),
                                None => "not comparable yet (an empty arm or holdout)".into(),
                            }}</td>
                        </tr>
                    }).collect_view()}
                    <tr class="border-t border-slate-100 text-slate-600">
                        <td class="py-2 pr-4">"Holdout"</td>
                        <td class="py-2 pr-4 text-right tabular-nums">{s.holdout.entered}</td>
                        <td class="py-2 pr-4 text-right tabular-nums">{s.holdout.met}</td>
                        <td class="py-2 pr-4 text-right tabular-nums">{percent(s.holdout.rate())}</td>
                        <td class="py-2 text-xs">"gets nothing: the baseline"</td>
                    </tr>
                </tbody>
            </table>
        </section>
    }
}

/// A customer's playbook history, on its page.
#[component]
pub fn CustomerPlaybooks(customer_id: i64) -> impl IntoView {
    let changing =
        Action::new(|&(id, change): &(i64, EnrollmentChange)| change_enrollment(id, change));
    let done = RwSignal::new(0_u64);
    Effect::new(move |_| {
        if matches!(changing.value().get(), Some(Ok(()))) {
            done.update(|n| *n += 1);
        }
    });
    let data = Resource::new(move || done.get(), move |_| customer_playbooks(customer_id));
    let can_manage = user_can(Role::can_manage_playbooks);
    view! {
        <Transition fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(h) if h.enrollments.is_empty() => view! {
                    <section class="card mt-6 p-5 text-sm text-slate-500" data-testid="customer-playbooks">
                        <h2 class="mb-1 text-sm font-semibold text-slate-700">"Playbooks"</h2>
                        "Not enrolled in any playbook yet."
                    </section>
                }.into_any(),
                Ok(h) => {
                    let now = h.now;
                    view! {
                        <section class="card mt-6" data-testid="customer-playbooks">
                            <h2 class="border-b border-slate-100 px-5 py-3 text-sm font-semibold text-slate-700">{format!("Playbooks ({})", h.enrollments.len())}</h2>
                            {move || changing.value().get().and_then(|r| r.err()).map(|e| view! {
                                <p class="px-5 pt-3 text-sm text-red-600" role="alert">{e.sentence()}</p>
                            })}
                            <ul class="divide-y divide-slate-100">
                                {h.enrollments.into_iter().map(|e| history_item(e, now, changing, can_manage)).collect_view()}
                            </ul>
                        </section>
                    }.into_any()
                }
                Err(e) => view! { <div class="mt-6"><ErrorNotice error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

fn history_item(
    e: EnrollmentHistory,
    now: chrono::DateTime<chrono::Utc>,
    changing: Action<(i64, EnrollmentChange), Result<(), AppError>>,
    can_manage: Signal<bool>,
) -> impl IntoView {
    let id = e.id;
    let live = e.live;
    let paused = e.status == "paused";
    let when = match e.finished_at {
        Some(f) => format!(
            "entered {} · finished {}",
            date_time(e.entered_at),
            date_time(f)
        ),
        None => format!(
            "entered {} ({})",
            date_time(e.entered_at),
            ago(e.entered_at, now)
        ),
    };
    let next = match (&e.next_step, &e.waiting_for, e.due_at) {
        (_, Some(ev), Some(due)) if live => {
            Some(format!("Waiting for “{ev}” until {}", date_time(due)))
        }
        (Some(step), _, Some(due)) if live => Some(format!("Next: {step} at {}", date_time(due))),
        _ => None,
    };
    view! {
        <li class="px-5 py-4" data-testid="enrollment" data-status=e.status.clone() data-playbook=e.playbook_key.clone()>
            <div class="flex flex-wrap items-center gap-2">
                <a class="font-medium text-indigo-700 hover:underline" href=format!("/playbooks/{}", e.playbook_key)>{e.playbook_name.clone()}</a>
                <span class="text-xs text-slate-500">{e.version.map(|v| format!("v{v}")).unwrap_or_default()}</span>
                <span class=status_badge(&e.status)>{e.status.clone()}</span>
                {(e.goal != "none").then(|| view! { <span class="text-xs text-slate-500">{format!("goal: {}", e.goal)}</span> })}
                <span class="ml-auto text-xs text-slate-500">{when}</span>
                {move || (live && can_manage.get()).then(|| {
                    let (change, label, testid) = if paused {
                        (EnrollmentChange::Resume, "Resume", "resume-enrollment")
                    } else {
                        (EnrollmentChange::Pause, "Pause", "pause-enrollment")
                    };
                    view! {
                        <button type="button" class="btn-secondary h-7 text-xs" data-testid=testid
                            disabled=move || changing.pending().get()
                            on:click=move |_| { changing.dispatch((id, change)); }>{label}</button>
                        <button type="button" class="btn-secondary h-7 text-xs" data-testid="cancel-enrollment"
                            disabled=move || changing.pending().get()
                            on:click=move |_| { changing.dispatch((id, EnrollmentChange::Cancel)); }>"Cancel"</button>
                    }
                })}
            </div>
            {e.finish.clone().map(|f| view! { <p class="mt-1 text-xs text-slate-600" data-testid="enrollment-finish">{f}</p> })}
            {next.map(|n| view! { <p class="mt-1 text-xs font-medium text-slate-700" data-testid="enrollment-next">{n}</p> })}
            {e.last_error.clone().map(|err| view! { <p class="mt-1 text-xs text-red-600">{format!("Last error: {err}")}</p> })}
            {(!e.runs.is_empty()).then(|| view! {
                <ol class="mt-2 space-y-1 border-l-2 border-slate-100 pl-3" data-testid="step-runs">
                    {e.runs.into_iter().map(step_run_item).collect_view()}
                </ol>
            })}
        </li>
    }
}

fn step_run_item(r: StepRunRow) -> impl IntoView {
    view! {
        <li class="text-xs" data-testid="step-run" data-step=r.step.clone()>
            <span class="font-mono font-medium text-slate-800">{r.step.clone()}</span>
            <span class="text-slate-500">{format!(" · {} · {}", r.step_type.replace('_', " "), date_time(r.ran_at))}</span>
            {r.effect.map(|x| view! { <span class="text-slate-700">{format!(" — {x}")}</span> })}
            {r.goal_reached.then(|| view! { <span class="text-emerald-700">" — goal reached"</span> })}
            {r.taken.map(|t| view! { <span class="text-slate-700" data-testid="decision">{format!(" — took “{t}”")}</span> })}
            {(!r.readings.is_empty()).then(|| view! {
                <ul class="ml-4 list-disc text-slate-600" data-testid="readings">
                    {r.readings.into_iter().map(|x| view! { <li>{x}</li> }).collect_view()}
                </ul>
            })}
            <span class="block text-slate-500">{r.next}</span>
        </li>
    }
}
