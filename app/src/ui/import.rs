//! Importing customers from a CSV file: all rows or none, every problem listed by line.

use leptos::prelude::*;
use vcsm::auth::Role;
use vcsm::csv_import::CUSTOMER_COLUMNS;

use super::components::{user_can, ErrorNotice, PageHeader};
use crate::api::customers::import_customers;

#[component]
pub fn ImportPage() -> impl IntoView {
    let can_edit = user_can(Role::can_edit_customers);
    let csv = RwSignal::new(String::new());
    let file_name = RwSignal::new(None::<String>);
    let import = Action::new(|text: &String| {
        let text = text.clone();
        async move { import_customers(text).await }
    });
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
                return;
            };
            file_name.set(Some(file.name()));
            leptos::task::spawn_local(async move {
                if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    csv.set(text.as_string().unwrap_or_default());
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, file_name);
    };
    let rows_in_text = move || {
        csv.with(|c| {
            c.lines()
                .filter(|l| !l.trim().is_empty())
                .count()
                .saturating_sub(1)
        })
    };

    view! {
        <PageHeader title="Import customers".into() subtitle="Upload a CSV file. Every row is checked first: if any row has a problem, nothing is imported.".into()/>
        <Transition fallback=|| ()>
        <Show when=move || can_edit.get() fallback=|| view! { <ErrorNotice error=crate::error::AppError::Forbidden("Your role can read customers but not import them.".into())/> }>
            <div class="grid gap-6 lg:grid-cols-3">
                <div class="card p-6 lg:col-span-2">
                    <label class="label" for="csv-file">"CSV file"</label>
                    <input id="csv-file" type="file" accept=".csv,text/csv" on:change=on_file class="block w-full text-sm text-slate-600 file:mr-3 file:rounded-lg file:border-0 file:bg-indigo-50 file:px-3 file:py-2 file:text-sm file:font-medium file:text-indigo-700 hover:file:bg-indigo-100"/>
                    <label class="label mt-4" for="csv-text">"…or paste its contents"</label>
                    <textarea id="csv-text" rows="10" class="input font-mono text-xs" prop:value=move || csv.get() on:input=move |ev| csv.set(event_target_value(&ev)) placeholder="name,external_id,domain,tier,stage,mrr,currency,seats,contract_start,renewal_date,owner_email,tags"></textarea>
                    <div class="mt-4 flex items-center justify-between">
                        <p class="text-sm text-slate-500">
                            {move || file_name.get().map(|f| format!("{f}: ")).unwrap_or_default()}
                            {move || format!("{} data rows", rows_in_text())}
                        </p>
                        <button
                            type="button"
                            class="btn-primary"
                            data-testid="run-import"
                            disabled=move || import.pending().get() || csv.with(|c| c.trim().is_empty())
                            on:click=move |_| { import.dispatch(csv.get()); }
                        >
                            {move || if import.pending().get() { "Importing…" } else { "Import" }}
                        </button>
                    </div>
                    {move || import.value().get().map(|r| match r {
                        Err(e) => view! { <div class="mt-4"><ErrorNotice error=e/></div> }.into_any(),
                        Ok(rep) if rep.errors.is_empty() => view! {
                            <div class="mt-4 rounded-lg border border-emerald-200 bg-emerald-50 p-4 text-sm text-emerald-800" role="status" data-testid="import-result">
                                {format!("Imported {} customers.", rep.imported)}
                                " "
                                <a class="font-medium underline" href="/customers?sort=created">"See them"</a>
                            </div>
                        }.into_any(),
                        Ok(rep) => view! {
                            <div class="mt-4 rounded-lg border border-red-200 bg-red-50 p-4" role="alert" data-testid="import-errors">
                                <p class="text-sm font-medium text-red-800">{format!("Nothing was imported: {} problem(s) found. Fix them and import the file again.", rep.errors.len())}</p>
                                <div class="mt-3 max-h-80 overflow-auto">
                                    <table class="min-w-full text-sm">
                                        <thead><tr><th class="th">"Line"</th><th class="th">"Column"</th><th class="th">"Problem"</th></tr></thead>
                                        <tbody>
                                            {rep.errors.into_iter().take(500).map(|e| view! {
                                                <tr><td class="td tabular-nums">{e.line}</td><td class="td font-mono text-xs">{e.field}</td><td class="td">{e.message}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </div>
                        }.into_any(),
                    })}
                </div>
                <aside class="card p-6 text-sm text-slate-600">
                    <h2 class="mb-2 font-semibold text-slate-800">"Columns"</h2>
                    <p class="mb-3">"The first line names the columns, in any order. Only name is required."</p>
                    <ul class="space-y-1 font-mono text-xs">
                        {CUSTOMER_COLUMNS.iter().map(|c| view! { <li>{*c}</li> }).collect_view()}
                    </ul>
                    <p class="mt-3">"Dates are YYYY-MM-DD; MRR is in major units (1250.00); tags are comma-separated; the owner is a user's e-mail."</p>
                </aside>
            </div>
        </Show>
        </Transition>
    }
}
