//! The jobs page (admins): the work servers do on their own — what ran, what runs now
//! and on which server, what failed and why — and retrying a job that failed its last try.

use leptos::prelude::*;
use vcsm::timefmt::date_time;

use super::components::{EmptyState, ErrorNotice, Loading, PageHeader, Stat};
use crate::api::jobs::{list_jobs, RetryFailedNotifications, RetryJob};
use crate::dto::JobDto;

fn state_badge(state: &str) -> (&'static str, &'static str) {
    match state {
        "queued" => ("Queued", "bg-slate-100 text-slate-700"),
        "running" => ("Running", "bg-indigo-100 text-indigo-800"),
        "done" => ("Done", "bg-emerald-100 text-emerald-800"),
        "dead" => ("Failed", "bg-rose-100 text-rose-800"),
        _ => ("Unknown", "bg-slate-100 text-slate-700"),
    }
}

#[component]
fn JobRow(job: JobDto, retry: ServerAction<RetryJob>) -> impl IntoView {
    let (label, badge) = state_badge(&job.state);
    let when = match (job.started_at, job.finished_at) {
        (_, Some(f)) => format!("Finished {}", date_time(f)),
        (Some(s), None) => format!("Started {}", date_time(s)),
        (None, None) => format!("Due {}", date_time(job.run_at)),
    };
    let dead = job.state == "dead";
    let id = job.id;
    view! {
        <tr data-testid="job-row" data-state=job.state.clone()>
            <td class="td">
                <p class="font-medium text-slate-900">{job.label.clone()}</p>
                <p class="text-xs text-slate-500">{job.period.clone().map(|p| format!("{} · #{}", p, job.id)).unwrap_or_else(|| format!("#{}", job.id))}</p>
            </td>
            <td class="td"><span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {badge}")>{label}</span></td>
            <td class="td whitespace-nowrap text-sm">{when}</td>
            <td class="td text-sm">{format!("{} of {}", job.attempts, job.max_attempts)}</td>
            <td class="td max-w-md text-sm">
                {job.locked_by.clone().filter(|_| job.state == "running").map(|w| view! { <p class="text-xs text-slate-500">"On "{w}</p> })}
                {job.progress.clone().map(|p| view! { <p>{p}</p> })}
                {job.last_error.clone().map(|e| view! { <p class="break-words text-rose-700">{e}</p> })}
                {job.result.clone().filter(|_| job.state == "done").map(|r| view! { <p class="text-slate-600">{r}</p> })}
            </td>
            <td class="td text-right">
                {dead.then(|| view! {
                    <ActionForm action=retry>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class="text-sm font-medium text-indigo-700 hover:underline">"Retry"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

#[component]
pub fn JobsPage() -> impl IntoView {
    let retry = ServerAction::<RetryJob>::new();
    let retry_notifications = ServerAction::<RetryFailedNotifications>::new();
    let refresh = RwSignal::new(0u32);
    let jobs = Resource::new(
        move || {
            (
                retry.version().get(),
                retry_notifications.version().get(),
                refresh.get(),
            )
        },
        |_| list_jobs(),
    );
    view! {
        <PageHeader title="Jobs".into() subtitle="Work the servers do on their own, once across all of them: the nightly recompute and retraining, re-scores after a settings change, CSV imports, the HubSpot sync, renewal notices, purges.".into()>
            <button type="button" class="btn-secondary" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
        </PageHeader>
        {move || retry.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mb-4"><ErrorNotice error=e/></div> })}
        {move || retry_notifications.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mb-4"><ErrorNotice error=e/></div> })}
        <Transition fallback=Loading>
            {move || jobs.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(page) => view! {
                    <div class="mb-6 grid gap-4 sm:grid-cols-4" data-testid="job-counts">
                        <Stat label="Failed" value=page.dead.to_string() hint="Gave up after the last try: retry when the cause is fixed.".into()/>
                        <Stat label="Running" value=page.running.to_string()/>
                        <Stat label="Queued" value=page.queued.to_string()/>
                        <Stat label="Done" value=page.done.to_string() hint="Kept 30 days.".into()/>
                    </div>
                    <div class="mb-6 card p-4" data-testid="queues">
                        <h2 class="mb-1 text-sm font-semibold text-slate-700">"Queues of their own"</h2>
                        <p class="mb-3 text-xs text-slate-500">"Two kinds of work keep their own queue, on the same terms as jobs (claimed once across the servers, retried): customers re-scored after new data, and alert notifications (each one listed on the alert rules page)."</p>
                        <dl class="grid gap-3 text-sm sm:grid-cols-3">
                            <div><dt class="text-slate-500">"Customers waiting to be re-scored"</dt><dd class="font-semibold" data-testid="rescores-waiting">{page.rescores_waiting.to_string()}</dd></div>
                            <div><dt class="text-slate-500">"Notifications to deliver"</dt><dd class="font-semibold" data-testid="notifications-pending">{page.notifications_pending.to_string()}</dd></div>
                            <div>
                                <dt class="text-slate-500">"Notifications failed"</dt>
                                <dd class="flex items-center gap-3">
                                    <span class="font-semibold" data-testid="notifications-failed">{page.notifications_failed.to_string()}</span>
                                    {(page.notifications_failed > 0).then(|| view! {
                                        <button type="button" class="btn-secondary h-7 text-xs" data-testid="retry-notifications"
                                            disabled=move || retry_notifications.pending().get()
                                            on:click=move |_| { retry_notifications.dispatch(RetryFailedNotifications {}); }>"Retry them"</button>
                                        <a href="/alerts/rules" class="text-xs text-indigo-700 hover:underline">"See why"</a>
                                    })}
                                </dd>
                            </div>
                        </dl>
                    </div>
                    <div class="card overflow-x-auto">
                        {if page.jobs.is_empty() {
                            view! { <EmptyState title="No jobs yet".into() hint="The servers queue the nightly recompute, the retraining and the purges on their own within a minute of starting.".into()/> }.into_any()
                        } else {
                            view! {
                                <table class="min-w-full divide-y divide-slate-200" data-testid="jobs-table">
                                    <thead class="bg-slate-50"><tr><th class="th">"Job"</th><th class="th">"State"</th><th class="th">"When"</th><th class="th">"Tries"</th><th class="th">"Detail"</th><th class="th"></th></tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {page.jobs.into_iter().map(|job| view! { <JobRow job retry/> }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}
