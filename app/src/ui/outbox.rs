//! The outbox (`/outbox`, admins): every e-mail, Slack message and webhook the playbooks
//! wrote, by status and kind — what is waiting and why, what went out and when, what
//! died and of what.

use leptos::prelude::*;
use vcsm::timefmt::{ago, date_time};

use super::components::{ErrorNotice, Loading, PageHeader, Pager};
use crate::api::playbooks::list_outbox;
use crate::dto::playbooks::{OutboxPage, OutboxRow};

const STATUSES: [(&str, &str); 5] = [
    ("pending", "Pending"),
    ("unsent", "Unsent"),
    ("sent", "Sent"),
    ("dead", "Dead"),
    ("all", "All"),
];

const KINDS: [(&str, &str); 4] = [
    ("all", "Every kind"),
    ("email", "E-mail"),
    ("slack", "Slack"),
    ("webhook", "Webhook"),
];

fn badge(status: &str) -> &'static str {
    match status {
        "sent" => "rounded bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-800",
        "dead" => "rounded bg-red-100 px-2 py-0.5 text-xs font-semibold text-red-800",
        _ => "rounded bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-800",
    }
}

/// `/outbox`.
#[component]
pub fn OutboxPage() -> impl IntoView {
    let status = RwSignal::new("all".to_string());
    let kind = RwSignal::new("all".to_string());
    let page = RwSignal::new(0_u64);
    let data = Resource::new(
        move || (status.get(), kind.get(), page.get()),
        |(s, k, p)| list_outbox(s, k, p),
    );
    view! {
        <PageHeader title="Outbox".into() subtitle="What the playbooks send: e-mails, Slack messages and webhooks, each sent once, retried with back-off, and kept with the reason when it can't go out.".into()>
            <a href="/playbooks" class="btn-secondary">"Playbooks"</a>
        </PageHeader>
        <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
            <div class="flex flex-wrap gap-1" role="tablist">
                {STATUSES.into_iter().map(|(key, label)| view! {
                    <button type="button" role="tab" data-testid=format!("tab-{key}")
                        aria-selected=move || (status.get() == key).to_string()
                        class="rounded-lg px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 aria-selected:bg-indigo-50 aria-selected:text-indigo-700"
                        on:click=move |_| { status.set(key.to_string()); page.set(0); }>
                        {label}
                    </button>
                }).collect_view()}
            </div>
            <label class="flex items-center gap-2 text-sm text-slate-600">
                "Kind"
                <select class="input h-9 w-40" data-testid="kind" on:change=move |ev| { kind.set(event_target_value(&ev)); page.set(0); }>
                    {KINDS.into_iter().map(|(k, label)| view! { <option value=k selected=k == "all">{label}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(p) => outbox_table(p, page).into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

fn outbox_table(p: OutboxPage, page: RwSignal<u64>) -> impl IntoView {
    if p.rows.is_empty() {
        return view! {
            <div class="card p-8 text-center text-sm text-slate-500" data-testid="outbox-empty">"Nothing here."</div>
        }
        .into_any();
    }
    let now = p.now;
    let (current, total, page_size) = (p.page, p.total, p.page_size);
    let counts = p
        .counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <p class="mb-2 text-xs text-slate-500" data-testid="outbox-counts">{format!("In all: {counts}")}</p>
        <div class="card overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="outbox">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="px-4 py-2 font-medium">"Kind"</th>
                        <th class="px-4 py-2 font-medium">"Customer"</th>
                        <th class="px-4 py-2 font-medium">"Playbook / step"</th>
                        <th class="px-4 py-2 font-medium">"Message"</th>
                        <th class="px-4 py-2 font-medium">"Status"</th>
                        <th class="px-4 py-2 text-right font-medium">"Attempts"</th>
                        <th class="px-4 py-2 font-medium">"Next attempt"</th>
                        <th class="px-4 py-2 font-medium">"Created"</th>
                        <th class="px-4 py-2 font-medium">"Sent"</th>
                    </tr>
                </thead>
                <tbody>
                    {p.rows.into_iter().map(|r| row(r, now)).collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total=total page_size=page_size current=current noun="messages" page=page/>
    }
    .into_any()
}

fn row(r: OutboxRow, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let waiting = r.status == "pending" || r.status == "unsent";
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="outbox-row" data-kind=r.kind.clone() data-status=r.status.clone()>
            <td class="px-4 py-2 whitespace-nowrap">{match r.kind.as_str() { "email" => "E-mail", "slack" => "Slack", "webhook" => "Webhook", other => other }.to_string()}</td>
            <td class="px-4 py-2 min-w-32"><a class="text-indigo-700 hover:underline" href=format!("/customers/{}", r.customer_id)>{r.customer_name.clone()}</a></td>
            <td class="px-4 py-2 min-w-44">
                {match (r.playbook_key.clone(), r.playbook_name.clone()) {
                    (Some(k), Some(n)) => view! { <a class="text-indigo-700 hover:underline" href=format!("/playbooks/{k}")>{n}</a> }.into_any(),
                    _ => view! { <span class="text-slate-500">"—"</span> }.into_any(),
                }}
                {r.step.clone().map(|s| view! { <p class="font-mono text-xs text-slate-500">{s}</p> })}
            </td>
            <td class="px-4 py-2 min-w-64 max-w-sm">
                {r.recipient.clone().map(|to| view! { <p class="text-xs text-slate-500" data-testid="outbox-recipient">{format!("To {to}")}</p> })}
                {r.summary.clone().map(|s| view! { <p class="break-words text-slate-800" data-testid="outbox-summary">{s}</p> })}
            </td>
            <td class="px-4 py-2 min-w-64 max-w-sm">
                <span class=badge(&r.status)>{r.status.clone()}</span>
                {r.last_error.clone().map(|e| view! { <p class="mt-1 break-words text-xs text-slate-600" data-testid="outbox-reason">{e}</p> })}
            </td>
            <td class="px-4 py-2 text-right tabular-nums">{r.attempts}</td>
            <td class="px-4 py-2 whitespace-nowrap text-slate-600">{if waiting { date_time(r.next_attempt_at) } else { "—".into() }}</td>
            <td class="px-4 py-2 whitespace-nowrap text-slate-600" title=date_time(r.created_at)>{ago(r.created_at, now)}</td>
            <td class="px-4 py-2 whitespace-nowrap text-slate-600">{r.sent_at.map(date_time).unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}
