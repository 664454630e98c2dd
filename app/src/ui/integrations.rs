//! The Integrations page (admins): event sources and their write keys, what each received
//! today, refused requests with the start of their payload, and the quarantine with replay.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use vcsm::timefmt::ago;

use super::components::{EmptyState, ErrorNotice, FieldError, Loading, PageHeader};
use crate::api::integrations::{
    integrations_overview, CreateSource, ReplayQuarantine, ReplayWebhooks, RevokeSource,
    RotateSourceKey, SetIntegrationSecret, SyncHubspot, TestSlack,
};
use crate::dto::{
    ChannelCounts, HeldMessage, IntegrationDto, IntegrationErrorDto, SourceDto, SourceKey,
};

fn when(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    at.map_or_else(|| "never".to_string(), |t| ago(t, now))
}

/// The key to copy, shown once, with how to use it.
#[component]
fn NewKey(key: SourceKey) -> impl IntoView {
    let example = format!(
        "curl -u '{}:' -H 'Content-Type: application/json' \\\n  -d '{{\"userId\":\"u1\",\"event\":\"Report Exported\",\"context\":{{\"groupId\":\"acct_1\"}}}}' \\\n  {{this server}}/v1/track",
        key.write_key
    );
    view! {
        <div class="card border-emerald-200 bg-emerald-50 p-5" role="status" data-testid="new-key">
            <p class="font-medium text-emerald-900">{format!("Write key for “{}”", key.name)}</p>
            <p class="mt-1 text-sm text-emerald-800">"Copy it now: it is shown only this once (only its hash is kept)."</p>
            <code class="mt-3 block break-all rounded bg-white px-3 py-2 font-mono text-sm text-slate-900" data-testid="write-key">{key.write_key.clone()}</code>
            <pre class="mt-3 overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100">{example}</pre>
        </div>
    }
}

fn counts_cell(c: ChannelCounts) -> impl IntoView {
    let title = format!(
        "received {} · stored {} · duplicates {} · quarantined {} · rejected {}",
        c.received, c.stored, c.duplicates, c.quarantined, c.rejected
    );
    view! {
        <div class="flex flex-wrap gap-x-3 gap-y-1 text-xs" title=title>
            <span><span class="font-semibold text-slate-900">{c.received}</span>" received"</span>
            <span class="text-emerald-700">{format!("{} stored", c.stored)}</span>
            {(c.duplicates > 0).then(|| view! { <span class="text-slate-500">{format!("{} duplicates", c.duplicates)}</span> })}
            {(c.quarantined > 0).then(|| view! { <span class="text-amber-700">{format!("{} held", c.quarantined)}</span> })}
            {(c.rejected > 0).then(|| view! { <span class="text-red-700">{format!("{} rejected", c.rejected)}</span> })}
        </div>
    }
}

#[component]
fn SourcesTable(
    sources: Vec<SourceDto>,
    now: DateTime<Utc>,
    rotate: ServerAction<RotateSourceKey>,
    revoke: ServerAction<RevokeSource>,
) -> impl IntoView {
    if sources.is_empty() {
        return view! {
            <EmptyState
                title="No sources yet".into()
                hint="Create a source to get a write key, then point Segment's HTTP API or any library at this server's /v1/ endpoints.".into()
            />
        }
        .into_any();
    }
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full divide-y divide-slate-200" data-testid="sources-table">
                <thead class="bg-slate-50"><tr>
                    <th class="th">"Source"</th><th class="th">"Key"</th><th class="th">"Last event"</th>
                    <th class="th">"Today"</th><th class="th">"Held"</th><th class="th"></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {sources.into_iter().map(|s| {
                        let id = s.id;
                        let live = s.revoked_at.is_none();
                        view! {
                            <tr data-testid="source-row">
                                <td class="td">
                                    <p class="max-w-xs break-words font-medium text-slate-900">{s.name.clone()}</p>
                                    <p class="text-xs text-slate-500">
                                        {if live { "Live" } else { "Revoked" }}
                                        {s.can_create_customers.then_some(" · creates customers")}
                                    </p>
                                </td>
                                <td class="td font-mono text-xs">{format!("{}…", s.key_prefix)}</td>
                                <td class="td whitespace-nowrap" title=s.last_event_at.map(|t| t.to_rfc3339()).unwrap_or_default()>{when(s.last_event_at, now)}</td>
                                <td class="td">{counts_cell(s.today)}</td>
                                <td class="td">{s.held}</td>
                                <td class="td text-right whitespace-nowrap">
                                    <Show when=move || live fallback=|| view! { <span class="text-xs text-slate-400">"key revoked"</span> }>
                                        <div class="flex justify-end gap-3">
                                            <details class="relative">
                                                <summary class="cursor-pointer text-sm font-medium text-indigo-700 hover:underline">"Rotate key"</summary>
                                                <div class="absolute right-0 z-10 mt-2 w-64 rounded-lg border border-slate-200 bg-white p-3 text-left text-xs text-slate-600 shadow-lg">
                                                    <p>"A new key is shown once; the current key stops working at once."</p>
                                                    <ActionForm action=rotate attr:class="mt-2">
                                                        <input type="hidden" name="id" value=id.to_string()/>
                                                        <button type="submit" class="btn-primary w-full justify-center">"Rotate now"</button>
                                                    </ActionForm>
                                                </div>
                                            </details>
                                            <details class="relative">
                                                <summary class="cursor-pointer text-sm font-medium text-red-700 hover:underline">"Revoke"</summary>
                                                <div class="absolute right-0 z-10 mt-2 w-64 rounded-lg border border-slate-200 bg-white p-3 text-left text-xs text-slate-600 shadow-lg">
                                                    <p>"Requests with this key will be refused (401). Events already stored stay."</p>
                                                    <ActionForm action=revoke attr:class="mt-2">
                                                        <input type="hidden" name="id" value=id.to_string()/>
                                                        <button type="submit" class="btn-danger w-full justify-center">"Revoke the key"</button>
                                                    </ActionForm>
                                                </div>
                                            </details>
                                        </div>
                                    </Show>
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

/// What to call an integration's secret in its form.
fn secret_label(name: &str) -> (&'static str, &'static str) {
    match name {
        "stripe" => ("Signing secret", "whsec_…"),
        "intercom" => ("Client secret", "the app's client secret"),
        "slack" => ("Incoming-webhook URL", "https://hooks.slack.com/services/…"),
        "hubspot" => ("Private-app token", "pat-…"),
        _ => ("Signing secret", "the webhook's signing secret"),
    }
}

#[component]
fn IntegrationCard(
    i: IntegrationDto,
    now: DateTime<Utc>,
    set_secret: ServerAction<SetIntegrationSecret>,
    test_slack: ServerAction<TestSlack>,
    sync_hubspot: ServerAction<SyncHubspot>,
    /// Which integration's secret form was submitted last, so only its card answers.
    last_saved: RwSignal<Option<String>>,
) -> impl IntoView {
    let name = i.name.clone();
    let (label, placeholder) = secret_label(&name);
    let input_id = format!("secret-{name}");
    let saved = {
        let name = name.clone();
        move || {
            last_saved.get().as_deref() == Some(name.as_str())
                && set_secret.value().get().is_some_and(|r| r.is_ok())
        }
    };
    let error = {
        let name = name.clone();
        move || {
            if last_saved.get().as_deref() != Some(name.as_str()) {
                return None;
            }
            set_secret.value().get().and_then(|r| r.err()).map(|e| {
                e.field_errors()
                    .and_then(|v| v.for_field("secret").map(str::to_string))
                    .unwrap_or_else(|| e.to_string())
            })
        }
    };
    view! {
        <div class="card flex flex-col p-5" data-testid=format!("integration-{name}")>
            <div class="flex items-start justify-between gap-3">
                <h3 class="font-semibold text-slate-900">{i.label.clone()}</h3>
                {if i.configured {
                    view! { <span class="rounded bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700">"Configured"</span> }.into_any()
                } else {
                    view! { <span class="rounded bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600">"Not configured"</span> }.into_any()
                }}
            </div>
            <p class="mt-1 text-sm text-slate-500">{i.purpose.clone()}</p>
            {i.endpoint.clone().map(|e| view! { <p class="mt-2 text-xs text-slate-500">"Endpoint: "<code class="font-mono text-slate-800">{format!("POST {e}")}</code></p> })}
            <dl class="mt-3 grid grid-cols-2 gap-2 text-xs">
                <div><dt class="text-slate-500">"Last received"</dt><dd class="font-medium text-slate-800">{when(i.last_event_at, now)}</dd></div>
                <div><dt class="text-slate-500">"Held"</dt><dd class="font-medium text-slate-800">{i.held}</dd></div>
                <div class="col-span-2"><dt class="text-slate-500">"Today"</dt><dd>{counts_cell(i.today)}</dd></div>
            </dl>
            {i.env_var.clone().map(|env| {
                let submitted = name.clone();
                let rotates_with_overlap = i.can_rotate && name != "slack" && name != "hubspot";
                view! {
                    <ActionForm action=set_secret attr:class="mt-4 space-y-2" attr:novalidate=true on:submit=move |_| last_saved.set(Some(submitted.clone()))>
                        <input type="hidden" name="name" value=i.name.clone()/>
                        <label class="label" for=input_id.clone()>{if i.can_rotate { format!("Replace the {}", label.to_lowercase()) } else { label.to_string() }}</label>
                        <div class="flex gap-2">
                            <input class="input" id=input_id.clone() name="secret" type="password" autocomplete="off" placeholder=placeholder/>
                            <button type="submit" class="btn-secondary shrink-0">{if i.can_rotate { "Rotate" } else { "Save" }}</button>
                        </div>
                        <p class="text-xs text-slate-500">
                            {i.secret_set_at.map(|t| format!("Set {}. ", ago(t, now)))}
                            {format!("Or set {env} on the server.")}
                            {rotates_with_overlap.then_some(" The replaced secret keeps working for 24 hours.")}
                        </p>
                        <FieldError message=Signal::derive(error.clone())/>
                        <Show when=saved.clone()><p class="text-xs text-emerald-700" role="status">"Saved."</p></Show>
                    </ActionForm>
                }.into_any()
            })}
            {(name == "hubspot" && i.configured).then(|| view! {
                <ActionForm action=sync_hubspot attr:class="mt-3">
                    <button type="submit" class="btn-secondary" disabled=move || sync_hubspot.pending().get()>
                        {move || if sync_hubspot.pending().get() { "Importing…" } else { "Import now" }}
                    </button>
                    {move || sync_hubspot.value().get().map(|r| match r {
                        Ok(rep) => view! {
                            <div class="mt-2 text-xs text-slate-700" role="status" data-testid="hubspot-report">
                                <p>{format!("{} companies created, {} linked; {} contacts created, {} updated; {} skipped.", rep.companies_created, rep.companies_linked, rep.contacts_created, rep.contacts_updated, rep.skipped_total)}</p>
                                <ul class="mt-1 list-disc pl-4 text-slate-500">{rep.skipped.into_iter().take(10).map(|s| view! { <li>{s}</li> }).collect_view()}</ul>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <p class="mt-2 text-xs text-red-600" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </ActionForm>
            }.into_any())}
            {(name == "slack" && i.configured).then(|| view! {
                <ActionForm action=test_slack attr:class="mt-3">
                    <button type="submit" class="btn-secondary" disabled=move || test_slack.pending().get()>"Send a test message"</button>
                    {move || test_slack.value().get().map(|r| match r {
                        Ok(()) => view! { <p class="mt-2 text-xs text-emerald-700" role="status">"Sent."</p> }.into_any(),
                        Err(e) => view! { <p class="mt-2 text-xs text-red-600" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </ActionForm>
            }.into_any())}
        </div>
    }
    .into_any()
}

#[component]
fn Quarantine(
    held: Vec<HeldMessage>,
    total: u64,
    now: DateTime<Utc>,
    replay: ServerAction<ReplayQuarantine>,
) -> impl IntoView {
    let shown = held.len();
    view! {
        <section class="card overflow-hidden" data-testid="quarantine">
            <div class="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-5 py-4">
                <div>
                    <h2 class="font-semibold">{format!("Quarantine ({total})")}</h2>
                    <p class="text-sm text-slate-500">"Messages whose customer could not be found. Nothing is dropped: once the customer exists, replay them."</p>
                </div>
                {(total > 0).then(|| view! {
                    <ActionForm action=replay>
                        <button type="submit" class="btn-secondary" disabled=move || replay.pending().get()>"Replay all"</button>
                    </ActionForm>
                })}
            </div>
            {move || replay.value().get().map(|r| match r {
                Ok(rep) => view! {
                    <p class="border-b border-slate-200 bg-emerald-50 px-5 py-2 text-sm text-emerald-800" role="status" data-testid="replay-result">
                        {format!("Replayed: {} applied, {} still held.", rep.applied, rep.still_held)}
                    </p>
                }.into_any(),
                Err(e) => view! { <div class="p-4"><ErrorNotice error=e/></div> }.into_any(),
            })}
            {if held.is_empty() {
                view! { <EmptyState title="Nothing held".into() hint="Every message received so far was tied to a customer.".into()/> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto">
                        <table class="min-w-full divide-y divide-slate-200">
                            <thead class="bg-slate-50"><tr>
                                <th class="th">"Received"</th><th class="th">"Source"</th><th class="th">"Type"</th>
                                <th class="th">"Why it is held"</th><th class="th">"Payload"</th><th class="th"></th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {held.into_iter().map(|h| view! {
                                    <tr data-testid="held-row">
                                        <td class="td whitespace-nowrap" title=h.received_at.to_rfc3339()>{ago(h.received_at, now)}</td>
                                        <td class="td">{h.source_name.clone()}</td>
                                        <td class="td">{h.kind.clone()}</td>
                                        <td class="td max-w-xs break-words">{h.reason.clone()}</td>
                                        <td class="td"><code class="block max-w-md truncate font-mono text-xs text-slate-600" title=h.excerpt.clone()>{h.excerpt.clone()}</code></td>
                                        <td class="td text-right">
                                            <ActionForm action=replay>
                                                <input type="hidden" name="id" value=h.id.to_string()/>
                                                <button type="submit" class="text-sm font-medium text-indigo-700 hover:underline">"Replay"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(total > shown as u64).then(|| view! {
                        <p class="border-t border-slate-200 px-5 py-2 text-xs text-slate-500">{format!("Showing the newest {shown} of {total}.")}</p>
                    })}
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn RecentErrors(errors: Vec<IntegrationErrorDto>, now: DateTime<Utc>) -> impl IntoView {
    view! {
        <section class="card overflow-hidden" data-testid="integration-errors">
            <div class="border-b border-slate-200 px-5 py-4">
                <h2 class="font-semibold">"Refused requests"</h2>
                <p class="text-sm text-slate-500">"The newest 50 of the last 14 days: what was wrong, and the start of what was sent."</p>
            </div>
            {if errors.is_empty() {
                view! { <EmptyState title="No refused requests".into()/> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto">
                        <table class="min-w-full divide-y divide-slate-200">
                            <thead class="bg-slate-50"><tr>
                                <th class="th">"When"</th><th class="th">"From"</th><th class="th">"Status"</th>
                                <th class="th">"Problem"</th><th class="th">"Payload"</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100">
                                {errors.into_iter().map(|e| view! {
                                    <tr data-testid="error-row">
                                        <td class="td whitespace-nowrap" title=e.occurred_at.to_rfc3339()>{ago(e.occurred_at, now)}</td>
                                        <td class="td">{e.channel.clone()}</td>
                                        <td class="td">{e.status}</td>
                                        <td class="td max-w-sm break-words text-red-700">{e.problem.clone()}</td>
                                        <td class="td"><code class="block max-w-md truncate font-mono text-xs text-slate-600" title=e.excerpt.clone()>{e.excerpt.clone()}</code></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let create = ServerAction::<CreateSource>::new();
    let rotate = ServerAction::<RotateSourceKey>::new();
    let revoke = ServerAction::<RevokeSource>::new();
    let replay = ServerAction::<ReplayQuarantine>::new();
    let set_secret = ServerAction::<SetIntegrationSecret>::new();
    let test_slack = ServerAction::<TestSlack>::new();
    let replay_hooks = ServerAction::<ReplayWebhooks>::new();
    let sync_hubspot = ServerAction::<SyncHubspot>::new();
    let last_saved = RwSignal::new(None::<String>);
    let overview = Resource::new(
        move || {
            (
                create.version().get(),
                rotate.version().get(),
                revoke.version().get(),
                replay.version().get(),
                set_secret.version().get(),
                test_slack.version().get(),
                replay_hooks.version().get(),
                sync_hubspot.version().get(),
            )
        },
        |_| integrations_overview(),
    );
    let name_error = Signal::derive(move || {
        create.value().get().and_then(|r| r.err()).and_then(|e| {
            e.field_errors()
                .and_then(|v| v.for_field("name").map(str::to_string))
        })
    });
    // The newest key created or rotated, shown once.
    let new_key = RwSignal::new(None::<SourceKey>);
    Effect::new(move |_| {
        if let Some(Ok(k)) = create.value().get() {
            new_key.set(Some(k));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(k)) = rotate.value().get() {
            new_key.set(Some(k));
        }
    });
    view! {
        <PageHeader title="Integrations".into() subtitle="Where data comes from: event sources, their keys, what arrived today and what needs attention.".into()/>
        <div class="space-y-6">
            {move || new_key.get().map(|k| view! { <NewKey key=k/> })}
            {move || rotate.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
            {move || revoke.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
            <div class="grid gap-6 lg:grid-cols-3">
                <section class="card overflow-visible lg:col-span-2">
                    <div class="border-b border-slate-200 px-5 py-4">
                        <h2 class="font-semibold">"Event sources"</h2>
                        <p class="text-sm text-slate-500">"Segment-compatible: POST /v1/identify, /v1/group, /v1/track, /v1/page and /v1/batch with the write key as the HTTP Basic user name."</p>
                    </div>
                    <Transition fallback=Loading>
                        {move || overview.get().map(|r| match r {
                            Err(e) => view! { <div class="p-4"><ErrorNotice error=e/></div> }.into_any(),
                            Ok(o) => view! { <SourcesTable sources=o.sources now=o.as_of rotate revoke/> }.into_any(),
                        })}
                    </Transition>
                </section>
                <section class="card p-5">
                    <h2 class="mb-4 font-semibold">"New source"</h2>
                    <ActionForm action=create attr:class="space-y-4" attr:novalidate=true>
                        <div>
                            <label class="label" for="src-name">"Name"</label>
                            <input class="input" id="src-name" name="name" placeholder="Web app (production)" maxlength="100"/>
                            <FieldError message=name_error/>
                        </div>
                        <label class="flex items-start gap-2 text-sm text-slate-700">
                            <input type="checkbox" name="can_create_customers" class="mt-0.5"/>
                            <span>"May create customers: a group() call with an unknown groupId creates the customer instead of holding the message."</span>
                        </label>
                        <button type="submit" class="btn-primary w-full justify-center" disabled=move || create.pending().get()>"Create source"</button>
                    </ActionForm>
                </section>
            </div>
            <Transition fallback=Loading>
                {move || overview.get().map(|r| match r {
                    Err(_) => ().into_any(),
                    Ok(o) => view! {
                        <section>
                            <div class="mb-3 flex flex-wrap items-end justify-between gap-3">
                                <div>
                                    <h2 class="font-semibold">"Billing, support, CRM and notifications"</h2>
                                    <p class="text-sm text-slate-500">"Every delivery is verified, recorded and counted; what can't be matched to a customer yet is held, not dropped."</p>
                                </div>
                                {let held: u64 = o.integrations.iter().map(|i| i.held).sum();
                                (held > 0).then(|| view! {
                                    <ActionForm action=replay_hooks>
                                        <button type="submit" class="btn-secondary" disabled=move || replay_hooks.pending().get()>{format!("Replay {held} held deliveries")}</button>
                                    </ActionForm>
                                })}
                            </div>
                            {move || replay_hooks.value().get().map(|r| match r {
                                Ok(rep) => view! { <p class="mb-3 text-sm text-emerald-800" role="status" data-testid="replay-webhooks-result">{format!("Replayed: {} applied, {} still held.", rep.applied, rep.still_held)}</p> }.into_any(),
                                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                            })}
                            <div class="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
                                {o.integrations.into_iter().map(|i| view! { <IntegrationCard i now=o.as_of set_secret test_slack sync_hubspot last_saved/> }).collect_view()}
                            </div>
                        </section>
                        <Quarantine held=o.held total=o.held_total now=o.as_of replay/>
                        <RecentErrors errors=o.errors now=o.as_of/>
                    }.into_any(),
                })}
            </Transition>
        </div>
    }
}
