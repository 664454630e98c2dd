//! Importing customers, contacts or product events from a CSV file: all rows or none, every
//! problem listed by line, a progress bar while a large file is written.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use vcsm::auth::Role;

use super::components::{user_can, ErrorNotice, PageHeader};
use crate::api::imports::{import_progress, start_import};
use crate::dto::{ImportKind, ImportPhase, ImportReport, ImportStatus};
use crate::error::AppError;

fn kind_label(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Customers => "Customers",
        ImportKind::Contacts => "Contacts",
        ImportKind::Events => "Product events",
    }
}

fn kind_help(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Customers => {
            "Only name is required. Dates are YYYY-MM-DD; MRR is in major units (1250.00); tags are comma-separated; the owner is a user's e-mail; billing_period is monthly, quarterly or annual (renewals follow it). Any other fact (sales channel, country, industry) comes in a column named attr.<name>, e.g. attr.country. External ids must be new. Customers are scored as soon as the file is in."
        }
        ImportKind::Contacts => {
            "customer_external_id and name are required. A row updates the customer's contact with the same user_id, else the same e-mail, and adds one otherwise; blank cells leave stored values as they are. Roles: champion, decision_maker, executive_sponsor, admin, user."
        }
        ImportKind::Events => {
            "customer_external_id, event and occurred_at are required. Times are ISO 8601 (2026-01-31T12:00:00Z) or YYYY-MM-DD, years back if you like; properties is a JSON object. Rows already imported (same message_id, or same content) are skipped, so a file can be imported again safely."
        }
    }
}

fn success_text(kind: ImportKind, r: &ImportReport) -> String {
    let n = |x: u64| vcsm::money::group_thousands(x);
    match kind {
        ImportKind::Customers => format!("Imported {} customers.", n(r.imported)),
        ImportKind::Contacts => format!(
            "Added {} contacts and updated {}.",
            n(r.imported),
            n(r.updated)
        ),
        ImportKind::Events => format!(
            "Stored {} events; {} were already imported.",
            n(r.imported),
            n(r.already_present)
        ),
    }
}

/// What the job is doing, in words, for the line under the progress bar.
fn progress_text(s: &ImportStatus) -> String {
    let n = |x: u64| vcsm::money::group_thousands(x);
    match s.phase {
        ImportPhase::Queued if s.error.is_some() => "Waiting to try again…".into(),
        ImportPhase::Queued => "Waiting for the import before it to finish…".into(),
        ImportPhase::Checking => "Checking every row…".into(),
        ImportPhase::Writing => format!("Writing rows: {} of {}", n(s.done), n(s.total)),
        ImportPhase::Finished | ImportPhase::Failed => "Done".into(),
    }
}

/// Where the page is with the current file.
#[derive(Clone, Debug, PartialEq)]
enum Run {
    Idle,
    Uploading,
    Running(ImportStatus),
    Failed(AppError),
}

/// Asks for the job's progress until it is over, every 300 ms. A dropped connection is
/// retried; anything else ends the polling with the error shown. (Runs in the browser:
/// only a click starts it.)
fn poll(id: u64, run: RwSignal<Run>) {
    leptos::task::spawn_local(async move {
        match import_progress(id).await {
            Ok(status) => {
                let over = status.is_over();
                run.set(Run::Running(status));
                if over {
                    return;
                }
            }
            Err(AppError::Transport(_)) => {}
            Err(e) => {
                run.set(Run::Failed(e));
                return;
            }
        }
        set_timeout(move || poll(id, run), std::time::Duration::from_millis(300));
    });
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let can_edit = user_can(Role::can_edit_customers);
    let query = use_query_map();
    let initial = query
        .with_untracked(|q| q.get("kind").and_then(|k| ImportKind::parse(&k)))
        .unwrap_or_default();
    let kind = RwSignal::new(initial);
    // A chosen file's text is kept out of the text area: 100,000 rows in a text area
    // would make the page crawl.
    let file_text = RwSignal::new(None::<(String, String)>);
    let pasted = RwSignal::new(String::new());
    let run = RwSignal::new(Run::Idle);
    let busy = move || {
        run.with(|r| match r {
            Run::Uploading => true,
            Run::Running(s) => !s.is_over(),
            _ => false,
        })
    };
    let text = move || {
        file_text
            .with(|f| f.as_ref().map(|(_, t)| t.clone()))
            .unwrap_or_else(|| pasted.get())
    };
    let rows_in = move |t: &str| {
        t.lines()
            .filter(|l| !l.trim().is_empty())
            .count()
            .saturating_sub(1)
    };
    let summary = move || match file_text.get() {
        Some((name, t)) => format!(
            "{name}: {} data rows ({:.1} MB)",
            vcsm::money::group_thousands(rows_in(&t) as u64),
            t.len() as f64 / 1_048_576.0
        ),
        None => format!("{} data rows", pasted.with(|p| rows_in(p))),
    };
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                file_text.set(None);
                return;
            };
            let name = file.name();
            run.set(Run::Idle);
            leptos::task::spawn_local(async move {
                if let Ok(t) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    file_text.set(Some((name, t.as_string().unwrap_or_default())));
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, file_text);
    };
    let start = move |_| {
        let csv = text();
        let kind = kind.get_untracked();
        run.set(Run::Uploading);
        leptos::task::spawn_local(async move {
            match start_import(kind, csv).await {
                Ok(id) => poll(id, run),
                Err(e) => run.set(Run::Failed(e)),
            }
        });
    };

    view! {
        <PageHeader title="Import from CSV".into() subtitle="Customers, their contacts, or product-usage history. Every row is checked first: if any row has a problem, nothing is imported.".into()/>
        <Transition fallback=|| ()>
        <Show when=move || can_edit.get() fallback=|| view! { <ErrorNotice error=AppError::Forbidden("Your role can read customers but not import them.".into())/> }>
            <div class="grid gap-6 lg:grid-cols-3">
                <div class="card p-6 lg:col-span-2">
                    <div class="mb-5 inline-flex rounded-lg border border-slate-200 bg-slate-50 p-1" role="tablist" aria-label="What the file holds">
                        {ImportKind::ALL.into_iter().map(|k| view! {
                            <button
                                type="button"
                                role="tab"
                                data-testid=format!("kind-{}", k.as_str())
                                aria-selected=move || (kind.get() == k).to_string()
                                class=move || if kind.get() == k {
                                    "rounded-md bg-white px-3 py-1.5 text-sm font-medium text-indigo-700 shadow-sm"
                                } else {
                                    "rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:text-slate-900"
                                }
                                disabled=busy
                                on:click=move |_| { kind.set(k); run.set(Run::Idle); }
                            >{kind_label(k)}</button>
                        }).collect_view()}
                    </div>
                    <label class="label" for="csv-file">"CSV file"</label>
                    <input id="csv-file" type="file" accept=".csv,text/csv" on:change=on_file disabled=busy class="block w-full text-sm text-slate-600 file:mr-3 file:rounded-lg file:border-0 file:bg-indigo-50 file:px-3 file:py-2 file:text-sm file:font-medium file:text-indigo-700 hover:file:bg-indigo-100"/>
                    <Show when=move || file_text.with(Option::is_none)>
                        <label class="label mt-4" for="csv-text">"…or paste its contents"</label>
                        <textarea id="csv-text" rows="10" class="input font-mono text-xs" prop:value=move || pasted.get() on:input=move |ev| pasted.set(event_target_value(&ev)) placeholder=move || kind.get().columns().join(",")></textarea>
                    </Show>
                    <div class="mt-4 flex items-center justify-between gap-4">
                        <p class="text-sm text-slate-500" data-testid="import-summary">{summary}</p>
                        <button
                            type="button"
                            class="btn-primary"
                            data-testid="run-import"
                            disabled=move || busy() || text().trim().is_empty()
                            on:click=start
                        >
                            {move || if busy() { "Importing…" } else { "Import" }}
                        </button>
                    </div>
                    {move || match run.get() {
                        Run::Idle => ().into_any(),
                        Run::Uploading => view! { <ProgressBar percent=None label="Sending the file…".into()/> }.into_any(),
                        Run::Failed(e) => view! { <div class="mt-4"><ErrorNotice error=e/></div> }.into_any(),
                        Run::Running(s) => match (s.phase, s.report.clone(), s.error.clone()) {
                            (ImportPhase::Finished, Some(rep), _) => view! { <ImportOutcome kind=s.kind report=rep/> }.into_any(),
                            (ImportPhase::Finished, None, e) => view! {
                                <p class="mt-4 rounded-lg bg-amber-50 p-3 text-sm text-amber-800" data-testid="import-outcome">{e.unwrap_or_default()}</p>
                            }.into_any(),
                            (ImportPhase::Failed, _, e) => view! {
                                <div class="mt-4"><ErrorNotice error=AppError::Upstream(format!("The import stopped and nothing was written: {}", e.unwrap_or_default()))/></div>
                            }.into_any(),
                            _ => view! { <ProgressBar percent=Some(s.percent()) label=progress_text(&s)/> }.into_any(),
                        },
                    }}
                </div>
                <aside class="card p-6 text-sm text-slate-600">
                    <h2 class="mb-2 font-semibold text-slate-800">{move || format!("{} columns", kind_label(kind.get()))}</h2>
                    <p class="mb-3">"The first line names the columns, in any order."</p>
                    <ul class="space-y-1 font-mono text-xs" data-testid="import-columns">
                        {move || kind.get().columns().iter().map(|c| view! { <li>{*c}</li> }).collect_view()}
                    </ul>
                    <p class="mt-3">{move || kind_help(kind.get())}</p>
                    <a
                        class="mt-3 inline-block font-medium text-indigo-700 hover:underline"
                        download=move || format!("{}-template.csv", kind.get().as_str())
                        href=move || format!("data:text/csv;charset=utf-8,{}%0A", kind.get().columns().join(","))
                    >"Download a template"</a>
                </aside>
            </div>
        </Show>
        </Transition>
    }
}

/// A progress bar: `None` for work of unknown length (a moving stripe).
#[component]
fn ProgressBar(percent: Option<u8>, label: String) -> impl IntoView {
    view! {
        <div class="mt-4" data-testid="import-progress">
            <div
                class="h-2.5 w-full overflow-hidden rounded-full bg-slate-100"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=percent.map(|p| p.to_string())
                aria-label=label.clone()
            >
                {match percent {
                    Some(p) => view! { <div class="h-full rounded-full bg-indigo-600 transition-all duration-300" style=format!("width: {p}%")></div> }.into_any(),
                    None => view! { <div class="h-full w-1/3 animate-pulse rounded-full bg-indigo-400"></div> }.into_any(),
                }}
            </div>
            <p class="mt-1.5 text-xs text-slate-500 tabular-nums">{label}</p>
        </div>
    }
}

/// The import's result: what was written, or every problem by line.
#[component]
fn ImportOutcome(kind: ImportKind, report: ImportReport) -> impl IntoView {
    if report.errors.is_empty() {
        let link = match kind {
            ImportKind::Customers => Some(("/customers?sort=created", "See them")),
            _ => None,
        };
        return view! {
            <div class="mt-4 rounded-lg border border-emerald-200 bg-emerald-50 p-4 text-sm text-emerald-800" role="status" data-testid="import-result">
                {success_text(kind, &report)}
                " "
                {link.map(|(href, text)| view! { <a class="font-medium underline" href=href>{text}</a> })}
            </div>
        }
        .into_any();
    }
    view! {
        <div class="mt-4 rounded-lg border border-red-200 bg-red-50 p-4" role="alert" data-testid="import-errors">
            <p class="text-sm font-medium text-red-800">{format!(
                "Nothing was imported: {} problem(s) found in {} rows. Fix them and import the file again.",
                report.errors.len(),
                vcsm::money::group_thousands(report.rows_read)
            )}</p>
            <div class="mt-3 max-h-80 overflow-auto">
                <table class="min-w-full text-sm">
                    <thead><tr><th class="th">"Line"</th><th class="th">"Column"</th><th class="th">"Problem"</th></tr></thead>
                    <tbody>
                        {report.errors.into_iter().map(|e| view! {
                            <tr><td class="td tabular-nums">{e.line}</td><td class="td font-mono text-xs">{e.field}</td><td class="td">{e.message}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
    .into_any()
}
