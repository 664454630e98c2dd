//! The dashboard: portfolio size, revenue, stages, tiers, activity.

use leptos::prelude::*;
use vcsm::alerts::Severity;
use vcsm::money::format_compact;
use vcsm::timefmt::ago;

use super::components::{
    EmptyState, ErrorNotice, Loading, PageHeader, StageBadge, Stat, TierBadge,
};
use crate::api::dashboard::dashboard;
use crate::dto::{ActivityRow, AtRiskRow, DashboardDto};
use vcsm::health::Level;

/// Horizontal bars: label, count and share of the largest.
#[component]
fn Bars(
    title: &'static str,
    rows: Vec<(String, u64, String)>,
    link_param: &'static str,
) -> impl IntoView {
    let max = rows.iter().map(|(_, n, _)| *n).max().unwrap_or(0).max(1);
    view! {
        <div class="card p-5">
            <h2 class="mb-4 text-sm font-semibold text-slate-700">{title}</h2>
            <ul class="space-y-2.5">
                {rows
                    .into_iter()
                    .map(|(label, n, key)| {
                        let pct = n as f64 * 100.0 / max as f64;
                        view! {
                            <li>
                                <a class="group block" href=format!("/customers?{link_param}={key}")>
                                    <div class="flex justify-between text-sm">
                                        <span class="text-slate-600 group-hover:text-indigo-700">{label}</span>
                                        <span class="font-medium tabular-nums">{n}</span>
                                    </div>
                                    <div class="mt-1 h-2 rounded-full bg-slate-100">
                                        <div class="h-2 rounded-full bg-indigo-500" style=format!("width: {pct:.1}%")></div>
                                    </div>
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn ActivityList(
    title: &'static str,
    rows: Vec<ActivityRow>,
    now: chrono::DateTime<chrono::Utc>,
    empty: &'static str,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="card" data-testid=testid>
            <h2 class="border-b border-slate-100 px-5 py-3 text-sm font-semibold text-slate-700">{title}</h2>
            {if rows.is_empty() {
                view! { <p class="px-5 py-6 text-sm text-slate-500">{empty}</p> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100">
                        {rows
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <li class="flex items-center justify-between gap-3 px-5 py-2.5">
                                        <div class="min-w-0">
                                            <a class="block truncate text-sm font-medium text-slate-800 hover:text-indigo-700" href=format!("/customers/{}", r.id)>
                                                {r.name.clone()}
                                            </a>
                                            <div class="mt-0.5 flex items-center gap-1.5">
                                                <TierBadge tier=r.tier/>
                                                <StageBadge stage=r.stage/>
                                            </div>
                                        </div>
                                        <div class="shrink-0 text-right">
                                            <p class="text-sm tabular-nums">{format_compact(r.mrr_minor, &r.currency)}"/mo"</p>
                                            <p class="text-xs text-slate-500">
                                                {r.last_seen_at.map(|t| format!("seen {}", ago(t, now))).unwrap_or_else(|| "never seen".into())}
                                            </p>
                                        </div>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </div>
    }
}

fn render(d: DashboardDto) -> AnyView {
    let s = &d.summary;
    if s.total == 0 {
        return view! {
            <div class="card">
                <EmptyState title="No customers yet".into() hint="Create customers one by one or import a CSV file to fill the dashboard.".into()>
                    <a class="btn-primary" href="/customers/new">"New customer"</a>
                    " "
                    <a class="btn-secondary" href="/customers/import">"Import CSV"</a>
                </EmptyState>
            </div>
        }
        .into_any();
    }
    let primary = s.revenue.first().cloned();
    let mrr = primary.as_ref().map_or_else(
        || "—".to_string(),
        |r| format_compact(r.mrr_minor, &r.currency),
    );
    let arr = primary.as_ref().map_or_else(
        || "—".to_string(),
        |r| format_compact(r.arr_minor, &r.currency),
    );
    let other = (s.revenue.len() > 1).then(|| {
        s.revenue[1..]
            .iter()
            .map(|r| format!("+ {} MRR", format_compact(r.mrr_minor, &r.currency)))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let paying = primary
        .as_ref()
        .map(|r| format!("{} paying customers", r.customers));
    let stages = s
        .by_stage
        .iter()
        .map(|(st, n)| (st.label().to_string(), *n, st.as_str().to_string()))
        .collect();
    let tiers = s
        .by_tier
        .iter()
        .map(|(t, n)| (t.label().to_string(), *n, t.as_str().to_string()))
        .collect();
    view! {
        <div class="grid grid-cols-2 gap-4 lg:grid-cols-4" data-testid="stats">
            <Stat label="Customers" value=s.live.to_string() hint=format!("{} churned · {} in total", s.churned, s.total)/>
            <Stat label="MRR" value=mrr hint=other.or(paying).unwrap_or_default()/>
            <Stat label="ARR" value=arr/>
            <Stat label="Silent 14+ days" value=d.silent_count.to_string() hint="live customers with no usage".to_string()/>
        </div>
        {insight_stats(&d)}
        <div class="mt-6 grid items-start gap-4 lg:grid-cols-2">
            <HealthDistribution levels=d.health_levels.clone() unscored=d.unscored/>
            <AtRisk rows=d.at_risk.clone()/>
        </div>
        <div class="mt-6 grid gap-4 lg:grid-cols-2">
            <Bars title="Customers by stage" rows=stages link_param="stage"/>
            <Bars title="Live customers by tier" rows=tiers link_param="tier"/>
        </div>
        <div class="mt-6 grid gap-4 lg:grid-cols-2">
            <ActivityList title="Recently active" rows=d.recently_active now=d.as_of empty="No usage recorded yet." testid="recently-active"/>
            <ActivityList title="Recently silent (biggest first)" rows=d.recently_silent now=d.as_of empty="Every live customer used the product in the last 14 days." testid="recently-silent"/>
        </div>
    }
    .into_any()
}

/// Live customers by health level: one bar split red / amber / green.
#[component]
fn HealthDistribution(levels: Vec<(Level, u64)>, unscored: u64) -> impl IntoView {
    let total: u64 = levels.iter().map(|(_, n)| n).sum();
    let colour = |l: Level| match l {
        Level::Poor => "bg-red-500",
        Level::Fair => "bg-amber-400",
        Level::Good => "bg-emerald-500",
        Level::Excellent => "bg-teal-700",
    };
    view! {
        <section class="card p-5" data-testid="health-distribution">
            <div class="mb-3 flex items-baseline justify-between">
                <h2 class="text-sm font-semibold text-slate-700">"Health"</h2>
                <a class="text-xs text-indigo-700 hover:underline" href="/customers?sort=health">"Worst first →"</a>
            </div>
            {if total == 0 {
                view! { <p class="text-sm text-slate-500">"No customer scored yet: scores appear seconds after data arrives."</p> }.into_any()
            } else {
                view! {
                    <div class="flex h-3 w-full overflow-hidden rounded-full bg-slate-100">
                        {levels.iter().filter(|(_, n)| *n > 0).map(|(l, n)| view! {
                            <div class=colour(*l) style=format!("width: {:.2}%", *n as f64 / total as f64 * 100.0) title=format!("{}: {n}", l.label())></div>
                        }).collect_view()}
                    </div>
                    <ul class="mt-3 grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
                        {levels.iter().map(|(l, n)| view! {
                            <li class="flex items-center gap-2">
                                <span class=format!("h-2.5 w-2.5 rounded-full {}", colour(*l))></span>
                                <span class="text-slate-600">{l.label()}</span>
                                <span class="ml-auto font-semibold tabular-nums" data-testid=format!("level-count-{}", l.as_str())>{*n}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(unscored > 0).then(|| view! { <p class="mt-2 text-xs text-slate-500">{format!("{unscored} not scored yet")}</p> })}
        </section>
    }
}

/// High and medium churn-risk customers, largest ARR at risk first.
#[component]
fn AtRisk(rows: Vec<AtRiskRow>) -> impl IntoView {
    view! {
        <section class="card" data-testid="at-risk">
            <h2 class="border-b border-slate-100 px-5 py-3 text-sm font-semibold text-slate-700">"At risk, by ARR at risk"</h2>
            {if rows.is_empty() {
                view! { <p class="px-5 py-4 text-sm text-slate-500">"No customer is at high or medium churn risk."</p> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100">
                        {rows.into_iter().map(|r| view! {
                            <li class="flex items-center gap-3 px-5 py-2.5" data-testid="at-risk-row">
                                <span class=format!("w-8 shrink-0 text-right font-semibold tabular-nums {}", r.level.map_or("text-slate-400", crate::ui::health::level_text))>
                                    {r.score.map_or("–".to_string(), |s| s.to_string())}
                                </span>
                                <a class="min-w-0 flex-1 truncate text-sm font-medium hover:text-indigo-700" href=format!("/customers/{}", r.id)>{r.name}</a>
                                <span class="shrink-0 text-right text-sm tabular-nums text-slate-600">
                                    <span class="font-semibold text-red-700">{format_compact(r.arr_at_risk_minor, &r.currency)}</span>
                                    {format!(" at risk · {:.0} % of {} ARR", r.probability * 100.0, format_compact(r.arr_minor, &r.currency))}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// ARR at risk, alerts needing someone, and the expansion pipeline.
fn insight_stats(d: &DashboardDto) -> impl IntoView {
    let money =
        |v: Option<(i64, &str)>| v.map_or_else(|| "—".to_string(), |(m, c)| format_compact(m, c));
    let at_risk = money(d.arr_at_risk.first().map(|(c, m)| (*m, c.as_str())));
    let alerts: u64 = d.open_alerts.iter().map(|(_, n)| n).sum();
    let urgent: u64 = d
        .open_alerts
        .iter()
        .filter(|(s, _)| *s >= Severity::High)
        .map(|(_, n)| n)
        .sum();
    let pipeline = d.pipeline.first();
    view! {
        <div class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-3" data-testid="insight-stats">
            <a href="/health/model" class="block">
                <Stat label="ARR at risk" value=at_risk hint="ARR × churn probability, over every live customer".to_string()/>
            </a>
            <a href="/alerts" class="block" data-testid="dashboard-alerts">
                <Stat label="Open alerts" value=alerts.to_string() hint=format!("{urgent} high or critical")/>
            </a>
            <a href="/expansion" class="block" data-testid="dashboard-pipeline">
                <Stat label="Expansion pipeline" value=money(pipeline.map(|p| (p.uplift_minor, p.currency.as_str())))
                    hint=pipeline.map_or_else(|| "no open signals".to_string(), |p| format!("{} signals · {} weighted", p.signals, format_compact(p.weighted_minor, &p.currency)))/>
            </a>
        </div>
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| dashboard());
    view! {
        <PageHeader title="Dashboard".into() subtitle="Your portfolio at a glance".into()/>
        <Suspense fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(d) => render(d),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Suspense>
    }
}
