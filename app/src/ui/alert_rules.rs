//! The alert rules page (`/alerts/rules`): each rule's switch, severity, threshold and
//! whether it notifies; where notifications go; and the latest deliveries with what
//! happened to each. Admins edit; everyone else reads.

use leptos::prelude::*;
use vcsm::alerts::{RuleConfig, Severity};
use vcsm::timefmt::date_time;

use super::components::{ErrorNotice, Loading, PageHeader};
use crate::api::alerts::{alert_rules, save_alert_rules};
use crate::dto::{AlertRulesPage, NotificationRow};

const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// `/alerts/rules`.
#[component]
pub fn AlertRulesPage() -> impl IntoView {
    // The page reloads the rules after a save that went through, not after a refused one:
    // that would throw away the edits being corrected (and race the person correcting them).
    let saves = RwSignal::new(0_u32);
    let save = Action::new(move |rules: &Vec<RuleConfig>| {
        let rules = rules.clone();
        async move {
            let saved = save_alert_rules(rules).await;
            if saved.is_ok() {
                saves.update(|n| *n += 1);
            }
            saved
        }
    });
    let data = Resource::new(move || saves.get(), |_| alert_rules());
    view! {
        <PageHeader title="Alert rules".into() subtitle="Which conditions raise an alert, how severe it is, and who is told when one opens.".into()>
            <a href="/alerts" class="btn-secondary">"Alert inbox"</a>
        </PageHeader>
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(p) => rules_view(p, save).into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

fn rules_view(
    p: AlertRulesPage,
    save: Action<Vec<RuleConfig>, Result<(), crate::error::AppError>>,
) -> impl IntoView {
    let can_edit = p.can_edit;
    let edited = RwSignal::new(p.rules.iter().map(|r| r.config).collect::<Vec<_>>());
    let field_error = move |field: String| {
        save.value().get().and_then(|r| r.err()).and_then(|e| {
            e.field_errors()
                .and_then(|v| v.for_field(&field).map(str::to_string))
        })
    };
    let other_error = move || {
        save.value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| {
                e.field_errors()
                    .is_none_or(|v| v.0.iter().all(|f| !f.field.ends_with(".threshold")))
            })
            .map(|e| e.to_string())
    };
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    let rows = p
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let set = move |f: &dyn Fn(&mut RuleConfig)| edited.update(|v| f(&mut v[i]));
            let threshold_field = format!("rules[{i}].threshold");
            view! {
                <tr class="border-t border-slate-100 align-top" data-testid="rule-row" data-rule=r.config.rule.as_str()>
                    <td class="px-4 py-3">
                        <label class="flex items-center gap-2 font-medium text-slate-900">
                            <input type="checkbox" data-testid="rule-enabled" disabled=!can_edit
                                prop:checked=move || edited.with(|v| v[i].enabled)
                                on:change=move |ev| { let on = event_target_checked(&ev); set(&|c| c.enabled = on) }/>
                            {r.label.clone()}
                        </label>
                    </td>
                    <td class="px-4 py-3">
                        <select class="input h-9" data-testid="rule-severity" disabled=!can_edit aria-label="Severity"
                            on:change=move |ev| {
                                if let Some(s) = Severity::parse(&event_target_value(&ev)) { set(&|c| c.severity = s) }
                            }>
                            {SEVERITIES.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=move || edited.with(|v| v[i].severity == s)>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </td>
                    <td class="px-4 py-3">
                        {match r.meaning.clone() {
                            Some(meaning) => view! {
                                <div class="flex flex-wrap items-center gap-2">
                                    <input type="number" class="input h-9 w-24" data-testid="rule-threshold" disabled=!can_edit
                                        aria-label=meaning.clone() step="any" min=r.min max=r.max
                                        prop:value=move || edited.with(|v| v[i].threshold.to_string())
                                        on:change=move |ev| {
                                            let t = event_target_value(&ev).trim().parse().unwrap_or(f64::NAN);
                                            set(&|c| c.threshold = t)
                                        }/>
                                    <span class="text-xs text-slate-500">{meaning}</span>
                                </div>
                                {
                                    let field = threshold_field.clone();
                                    move || field_error(field.clone()).map(|m| view! {
                                        <p class="mt-1 text-xs text-red-600" data-testid="rule-error">{m}</p>
                                    })
                                }
                            }.into_any(),
                            None => view! { <span class="text-xs text-slate-400">"No threshold"</span> }.into_any(),
                        }}
                    </td>
                    <td class="px-4 py-3">
                        <label class="flex items-center gap-2 text-slate-600">
                            <input type="checkbox" data-testid="rule-notify" disabled=!can_edit
                                prop:checked=move || edited.with(|v| v[i].notify)
                                on:change=move |ev| { let on = event_target_checked(&ev); set(&|c| c.notify = on) }/>
                            "Notify"
                        </label>
                        <label class="mt-1 flex items-center gap-2 text-slate-600" title="When no running playbook handles the alert, the owner gets a task due within the tier's SLA">
                            <input type="checkbox" data-testid="rule-opens-task" disabled=!can_edit
                                prop:checked=move || edited.with(|v| v[i].opens_task)
                                on:change=move |ev| { let on = event_target_checked(&ev); set(&|c| c.opens_task = on) }/>
                            "Open a task"
                        </label>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="alert-rules">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="px-4 py-2 font-medium">"Rule"</th>
                        <th class="px-4 py-2 font-medium">"Severity"</th>
                        <th class="px-4 py-2 font-medium">"Threshold"</th>
                        <th class="px-4 py-2 font-medium">"When it opens"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {can_edit.then(|| view! {
            <div class="mt-4 flex flex-wrap items-center gap-3">
                <button type="button" class="btn-primary" data-testid="save-rules"
                    disabled=move || save.pending().get()
                    on:click=move |_| { save.dispatch(edited.get_untracked()); }>
                    {move || if save.pending().get() { "Saving…" } else { "Save rules" }}
                </button>
                <span class="text-xs text-slate-500">"The portfolio is re-evaluated with the new rules as soon as they are saved."</span>
                {move || saved().then(|| view! { <span class="text-sm text-emerald-700" data-testid="rules-saved">"Saved."</span> })}
                {move || other_error().map(|m| view! { <span class="text-sm text-red-600" data-testid="rules-error">{m}</span> })}
            </div>
        })}
        <section class="mt-8">
            <h2 class="mb-2 text-sm font-semibold text-slate-700">"Where notifications go"</h2>
            <ul class="card divide-y divide-slate-100 text-sm" data-testid="channels">
                <li class="flex flex-wrap items-center justify-between gap-2 px-4 py-3">
                    <span>"Slack: the team's channel"</span>
                    {if p.slack_configured {
                        view! { <span class="text-emerald-700" data-testid="slack-status">"Connected"</span> }.into_any()
                    } else {
                        view! { <a href="/integrations" class="text-indigo-700 hover:underline" data-testid="slack-status">"Not connected: add a webhook URL on Integrations"</a> }.into_any()
                    }}
                </li>
                <li class="flex flex-wrap items-center justify-between gap-2 px-4 py-3">
                    <span>"E-mail: the customer's owner"</span>
                    {if p.email_configured {
                        view! { <span class="text-emerald-700" data-testid="email-status">"Sending"</span> }.into_any()
                    } else {
                        view! { <span class="text-amber-700" data-testid="email-status">"Off: the server has no VCSM_SMTP_URL"</span> }.into_any()
                    }}
                </li>
            </ul>
        </section>
        <section class="mt-8">
            <h2 class="mb-2 text-sm font-semibold text-slate-700">"Latest notifications"</h2>
            {deliveries(p.recent)}
        </section>
    }
}

fn status_class(status: &str) -> &'static str {
    match status {
        "sent" => "text-emerald-700",
        "pending" => "text-slate-600",
        "skipped" => "text-amber-700",
        _ => "text-red-700",
    }
}

fn deliveries(rows: Vec<NotificationRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="card p-6 text-center text-sm text-slate-500" data-testid="notifications-empty">
                "No notifications yet: they are sent when an alert of a rule that notifies opens."
            </div>
        }
        .into_any();
    }
    view! {
        <div class="card overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="notifications">
                <thead>
                    <tr class="border-b border-slate-100 text-left text-xs text-slate-500">
                        <th class="px-4 py-2 font-medium">"Alert"</th>
                        <th class="px-4 py-2 font-medium">"To"</th>
                        <th class="px-4 py-2 font-medium">"Status"</th>
                        <th class="px-4 py-2 font-medium">"Queued"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|n| view! {
                        <tr class="border-t border-slate-100 align-top" data-testid="notification-row">
                            <td class="px-4 py-3">
                                <p class="text-slate-900">{n.alert_title.clone()}</p>
                                <a href=format!("/customers/{}", n.customer_id) class="text-xs text-indigo-700 hover:underline">{n.customer_name.clone()}</a>
                            </td>
                            <td class="px-4 py-3 text-slate-600">
                                {if n.channel == "slack" { "Slack".to_string() } else { n.recipient.clone() }}
                            </td>
                            <td class="px-4 py-3">
                                <span class=status_class(&n.status) data-testid="notification-status">
                                    {format!("{}{}", n.status, if n.attempts > 1 { format!(" ({} attempts)", n.attempts) } else { String::new() })}
                                </span>
                                {n.last_error.clone().map(|e| view! { <p class="mt-1 max-w-md text-xs text-slate-500 break-words">{e}</p> })}
                            </td>
                            <td class="px-4 py-3 whitespace-nowrap text-slate-600">{date_time(n.created_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
