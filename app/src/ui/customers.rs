//! The customer list: search, filters, sort and pages, all in the URL.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use vcsm::auth::Role;
use vcsm::churn::Risk;
use vcsm::customers::{Stage, Tier};
use vcsm::listing::{page_count, CustomerQuery, SortKey, PAGE_SIZES};
use vcsm::money::format_money;
use vcsm::timefmt::{ago, date, with_query};

use super::components::{
    user_can, EmptyState, ErrorNotice, Loading, PageHeader, StageBadge, TierBadge,
};
use super::playbooks::EnrollMatching;
use crate::api::customers::{list_customers, owner_options};
use crate::dto::{CustomerPage, OwnerOption};

fn href(q: &CustomerQuery) -> String {
    with_query("/customers", &q.to_params())
}

#[component]
fn SortHeader(
    q: CustomerQuery,
    key: SortKey,
    label: &'static str,
    #[prop(optional)] right: bool,
) -> impl IntoView {
    let active = q.sort == key;
    let arrow = if !active {
        ""
    } else if q.desc {
        " ↓"
    } else {
        " ↑"
    };
    let aria = if !active {
        "none"
    } else if q.desc {
        "descending"
    } else {
        "ascending"
    };
    view! {
        <th class=if right { "th text-right" } else { "th" } aria-sort=aria>
            <a class="hover:text-slate-900" href=href(&q.sorted_by(key)) data-testid=format!("sort-{}", key.as_str())>
                {label}
                {arrow}
            </a>
        </th>
    }
}

#[component]
fn Filters(q: CustomerQuery, owners: Vec<OwnerOption>) -> impl IntoView {
    let tier = q.tier;
    let stage = q.stage;
    let owner = q.owner;
    let risk = q.risk;
    view! {
        <Form method="GET" action="/customers" attr:class="card mb-4 flex flex-wrap items-end gap-3 p-4" attr:role="search">
            <div class="min-w-56 flex-1">
                <label class="label" for="q">"Search"</label>
                <input class="input" id="q" type="search" name="q" value=q.search.clone() placeholder="Name, domain or external id" maxlength="100"/>
            </div>
            <div>
                <label class="label" for="tier">"Tier"</label>
                <select class="input" id="tier" name="tier">
                    <option value="">"All tiers"</option>
                    {Tier::ALL.iter().map(|t| view! { <option value=t.as_str() selected=tier == Some(*t)>{t.label()}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label class="label" for="stage">"Stage"</label>
                <select class="input" id="stage" name="stage">
                    <option value="">"All stages"</option>
                    {Stage::ALL.iter().map(|s| view! { <option value=s.as_str() selected=stage == Some(*s)>{s.label()}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label class="label" for="owner">"Owner"</label>
                <select class="input" id="owner" name="owner">
                    <option value="">"Anyone"</option>
                    <option value="none" selected=owner == Some(0)>"No owner"</option>
                    {owners.into_iter().map(|o| view! { <option value=o.id.to_string() selected=owner == Some(o.id)>{o.name}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label class="label" for="risk">"Churn risk"</label>
                <select class="input" id="risk" name="risk">
                    <option value="">"Any risk"</option>
                    {[Risk::High, Risk::Medium, Risk::Low].into_iter().map(|r| view! { <option value=r.as_str() selected=risk == Some(r)>{r.label()}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label class="label" for="per_page">"Per page"</label>
                <select class="input" id="per_page" name="per_page">
                    {PAGE_SIZES.iter().map(|n| view! { <option value=n.to_string() selected=q.per_page == *n>{n.to_string()}</option> }).collect_view()}
                </select>
            </div>
            <label class="flex items-center gap-2 pb-2 text-sm text-slate-600">
                <input type="checkbox" name="archived" value="1" checked=q.include_archived class="rounded border-slate-300"/>
                "Include archived"
            </label>
            <input type="hidden" name="sort" value=q.sort.as_str()/>
            <input type="hidden" name="dir" value=if q.desc { "desc" } else { "asc" }/>
            <div class="flex gap-2">
                <button type="submit" class="btn-primary" data-testid="apply-filters">"Apply"</button>
                <a href="/customers" class="btn-secondary">"Reset"</a>
            </div>
        </Form>
    }
}

fn table(page: CustomerPage) -> AnyView {
    let q = page.query.clone();
    let now = page.now;
    if page.rows.is_empty() {
        let filtered = q != CustomerQuery::default();
        return view! {
            <div class="card">
                {if filtered {
                    view! {
                        <EmptyState title="No customers match these filters".into() hint="Try a shorter search or fewer filters.".into()>
                            <a class="btn-secondary" href="/customers">"Clear filters"</a>
                        </EmptyState>
                    }
                        .into_any()
                } else {
                    view! {
                        <EmptyState title="No customers yet".into() hint="Create your first customer or import a CSV file.".into()>
                            <a class="btn-primary" href="/customers/new">"New customer"</a>
                        </EmptyState>
                    }
                        .into_any()
                }}
            </div>
        }
        .into_any();
    }
    let pages = page_count(page.total, q.per_page);
    let first = q.offset() + 1;
    let last = q.offset() + page.rows.len() as u64;
    let prev = (q.page > 1).then(|| href(&q.on_page(q.page - 1)));
    let next = (q.page < pages).then(|| href(&q.on_page(q.page + 1)));
    view! {
        <div class="card overflow-hidden">
            <div class="overflow-x-auto">
                <table class="min-w-full divide-y divide-slate-200" data-testid="customer-table">
                    <thead class="bg-slate-50">
                        <tr>
                            <SortHeader q=q.clone() key=SortKey::Name label="Customer"/>
                            <th class="th">"Tier"</th>
                            <th class="th">"Stage"</th>
                            <SortHeader q=q.clone() key=SortKey::Health label="Health" right=true/>
                            <SortHeader q=q.clone() key=SortKey::Churn label="Churn risk"/>
                            <SortHeader q=q.clone() key=SortKey::Mrr label="MRR" right=true/>
                            <th class="th text-right">"Seats"</th>
                            <SortHeader q=q.clone() key=SortKey::Renewal label="Renewal"/>
                            <th class="th">"Owner"</th>
                            <SortHeader q=q.clone() key=SortKey::LastSeen label="Last seen"/>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100 bg-white">
                        {page
                            .rows
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <tr class="hover:bg-slate-50" data-testid="customer-row">
                                        <td class="td max-w-xs">
                                            <a class="block truncate font-medium text-slate-900 hover:text-indigo-700" href=format!("/customers/{}", r.id) title=r.name.clone()>
                                                {r.name.clone()}
                                            </a>
                                            <span class="block truncate text-xs text-slate-500">
                                                {r.domain.clone().unwrap_or_default()}
                                                {r.archived.then_some(" · archived")}
                                            </span>
                                        </td>
                                        <td class="td"><TierBadge tier=r.tier/></td>
                                        <td class="td"><StageBadge stage=r.stage/></td>
                                        <td class="td text-right tabular-nums" data-testid="health-cell">{match (r.health_score, r.health_level) {
                                            (Some(score), Some(level)) => view! {
                                                <span class=format!("font-semibold {}", super::health::level_text(level)) title=level.label()>{score}</span>
                                            }.into_any(),
                                            _ => view! { <span class="text-slate-400" title="Not scored yet">"—"</span> }.into_any(),
                                        }}</td>
                                        <td class="td whitespace-nowrap" data-testid="churn-cell">{match r.churn_risk {
                                            Some(risk) => view! {
                                                <span class=super::churn::risk_badge(risk)>{risk.label()}</span>
                                                {r.churn_probability.map(|p| view! { <span class="ml-1.5 text-xs tabular-nums text-slate-500">{vcsm::churn::probability_text(p)}</span> })}
                                            }.into_any(),
                                            None => view! { <span class="text-slate-400" title="Not predicted yet">"—"</span> }.into_any(),
                                        }}</td>
                                        <td class="td text-right tabular-nums">{format_money(r.mrr_minor, &r.currency)}</td>
                                        <td class="td text-right tabular-nums">{r.seats}</td>
                                        <td class="td whitespace-nowrap">{r.renewal_date.map(date).unwrap_or_else(|| "—".into())}</td>
                                        <td class="td max-w-40 truncate">{r.owner_name.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td class="td whitespace-nowrap text-slate-500">{r.last_seen_at.map(|t| ago(t, now)).unwrap_or_else(|| "never".into())}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <nav class="flex items-center justify-between border-t border-slate-200 px-4 py-3 text-sm" aria-label="Pagination">
                <p class="text-slate-600" data-testid="result-count">
                    {format!("{first}–{last} of {}", page.total)}
                </p>
                <div class="flex items-center gap-2">
                    <span class="text-slate-500">{format!("Page {} of {pages}", q.page)}</span>
                    {match prev {
                        Some(h) => view! { <a class="btn-secondary" href=h rel="prev">"← Previous"</a> }.into_any(),
                        None => view! { <span class="btn-secondary opacity-50">"← Previous"</span> }.into_any(),
                    }}
                    {match next {
                        Some(h) => view! { <a class="btn-secondary" href=h rel="next" data-testid="next-page">"Next →"</a> }.into_any(),
                        None => view! { <span class="btn-secondary opacity-50">"Next →"</span> }.into_any(),
                    }}
                </div>
            </nav>
        </div>
    }
    .into_any()
}

#[component]
pub fn CustomerListPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        CustomerQuery::from_params(|k| p.get(k))
    });
    let page = Resource::new(move || query.get(), list_customers);
    let owners = Resource::new(|| (), |_| owner_options());
    let can_edit = user_can(Role::can_edit_customers);
    let can_enroll = user_can(Role::can_manage_playbooks);
    let matching = Signal::derive(move || page.get().and_then(Result::ok).map(|p| p.total));

    view! {
        <PageHeader title="Customers".into()>
            // Every page of the list as it is filtered and sorted, with health and churn.
            <a
                href=move || {
                    let params: Vec<(&str, String)> = query.get().to_params().into_iter().filter(|(k, _)| *k != "page" && *k != "per_page").collect();
                    with_query("/customers/export.csv", &params)
                }
                rel="external"
                download=""
                class="btn-secondary"
                data-testid="export-csv"
            >"Export CSV"</a>
            // Reads the signed-in user's resource: must sit in a Transition to hydrate.
            <Transition fallback=|| ()>
                <Show when=move || can_edit.get()>
                    <a href="/customers/import" class="btn-secondary">"Import CSV"</a>
                    <a href="/customers/new" class="btn-primary" data-testid="new-customer">"New customer"</a>
                </Show>
            </Transition>
        </PageHeader>
        <Suspense fallback=|| ()>
            {move || {
                let owners = owners.get().and_then(|r| r.ok()).unwrap_or_default();
                view! { <Filters q=query.get() owners/> }
            }}
        </Suspense>
        <Transition fallback=|| ()>
            <Show when=move || can_enroll.get()>
                <EnrollMatching query matching/>
            </Show>
        </Transition>
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Ok(p) => table(p),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}
