//! A customer's health on its page: the score as a gauge, its 90-day history, each
//! group's and measure's part, and what moved it over 7 and 30 days. Charts are SVG
//! rendered on the server (no chart library in the bundle).

use leptos::prelude::*;
use vcsm::health::{format_value, Health, Level, Levels, Trend};
use vcsm::timefmt::ago;

use super::components::ErrorNotice;
use crate::api::health::{customer_health, SetCsmSentiment};
use crate::dto::{CustomerHealthDto, HealthMove, HealthPoint};

/// Text colour of a level.
pub fn level_text(level: Level) -> &'static str {
    match level {
        Level::Poor => "text-red-600",
        Level::Fair => "text-amber-600",
        Level::Good => "text-emerald-600",
        Level::Excellent => "text-teal-700",
    }
}

/// SVG stroke colour of a level.
fn level_stroke(level: Level) -> &'static str {
    match level {
        Level::Poor => "#dc2626",
        Level::Fair => "#d97706",
        Level::Good => "#059669",
        Level::Excellent => "#0f766e",
    }
}

fn trend_text(m: &HealthMove, now_score: u8) -> (String, &'static str) {
    match (m.trend, m.from) {
        (Trend::Unknown, _) | (_, None) => {
            (format!("{} days: no score then", m.days), "text-slate-500")
        }
        (t, Some(from)) => {
            let d = i16::from(now_score) - i16::from(from);
            let class = match t {
                Trend::Improving => "text-emerald-700",
                Trend::Declining => "text-red-700",
                _ => "text-slate-600",
            };
            let arrow = match t {
                Trend::Improving => "▲",
                Trend::Declining => "▼",
                _ => "▬",
            };
            let on = m
                .from_day
                .map(|d| format!(" on {}", vcsm::timefmt::date(d)))
                .unwrap_or_default();
            (
                format!("{} days: {arrow} {d:+} (from {from}{on})", m.days),
                class,
            )
        }
    }
}

/// The score on a half-circle dial.
#[component]
fn Gauge(health: Health) -> impl IntoView {
    // Half a circle of radius 70: its length is π·70.
    let length = std::f64::consts::PI * 70.0;
    let filled = length * f64::from(health.score.value()) / 100.0;
    view! {
        <svg viewBox="0 0 160 92" class="w-44" role="img" aria-label=format!("Health {} of 100, {}", health.score, health.level.label())>
            <path d="M 10 82 A 70 70 0 0 1 150 82" fill="none" stroke="#e2e8f0" stroke-width="12" stroke-linecap="round"/>
            <path d="M 10 82 A 70 70 0 0 1 150 82" fill="none" stroke=level_stroke(health.level) stroke-width="12" stroke-linecap="round"
                stroke-dasharray=format!("{filled:.1} {length:.1}")/>
            <text x="80" y="72" text-anchor="middle" class="fill-slate-900" font-size="30" font-weight="600" data-testid="health-score">{health.score.value()}</text>
            <text x="80" y="90" text-anchor="middle" class="fill-slate-500" font-size="11">"of 100"</text>
        </svg>
    }
}

/// The last 90 days: the score as a line over the level bands.
#[component]
fn HistoryChart(
    history: Vec<HealthPoint>,
    levels: Levels,
    now: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    const W: f64 = 360.0;
    const H: f64 = 110.0;
    let days = vcsm::health::HISTORY_DAYS as f64;
    let start = now.date_naive() - chrono::Duration::days(vcsm::health::HISTORY_DAYS);
    let x = move |d: chrono::NaiveDate| ((d - start).num_days() as f64 / days * W).clamp(0.0, W);
    let y = |score: f64| H - score / 100.0 * H;
    let band = |from: u8, to: u8, fill: &'static str| {
        let (top, bottom) = (y(f64::from(to)), y(f64::from(from)));
        view! { <rect x="0" y=format!("{top:.1}") width=W height=format!("{:.1}", bottom - top) fill=fill/> }
    };
    let points = history
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.day), y(f64::from(p.score))))
        .collect::<Vec<_>>()
        .join(" ");
    let last = history.last().copied();
    let single = history.len() == 1;
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="h-28 w-full" preserveAspectRatio="none" role="img"
            aria-label=format!("Health over the last {} days", vcsm::health::HISTORY_DAYS) data-testid="health-history">
            {band(0, levels.fair, "#fef2f2")}
            {band(levels.fair, levels.good, "#fffbeb")}
            {band(levels.good, levels.excellent, "#ecfdf5")}
            {band(levels.excellent, 100, "#f0fdfa")}
            <polyline points=points fill="none" stroke="#4f46e5" stroke-width="2" vector-effect="non-scaling-stroke"/>
            {last.filter(|_| single).map(|p| view! {
                <circle cx=format!("{:.1}", x(p.day)) cy=format!("{:.1}", y(f64::from(p.score))) r="3" fill="#4f46e5"/>
            })}
        </svg>
    }
}

/// What moved the score over `m.days`, biggest group first.
#[component]
fn Moves(m: HealthMove) -> impl IntoView {
    if m.from.is_none() {
        return view! { <p class="text-sm text-slate-500">{format!("No score {} days ago to compare with yet.", m.days)}</p> }.into_any();
    }
    let moved: Vec<_> = m
        .groups
        .into_iter()
        .filter(|g| g.points.abs() >= 0.5)
        .collect();
    if moved.is_empty() {
        return view! { <p class="text-sm text-slate-500">"Nothing moved the score by a point or more."</p> }.into_any();
    }
    view! {
        <ul class="space-y-1.5" data-testid=format!("health-moves-{}", m.days)>
            {moved.into_iter().map(|g| {
                let class = if g.points < 0.0 { "text-red-700" } else { "text-emerald-700" };
                view! { <li class=format!("text-sm {class}")>{g.text}</li> }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The CSM's own view of the customer, 1–5 (a manual measure), for those who may edit.
#[component]
fn SentimentPicker(customer_id: i64, current: Option<u8>) -> impl IntoView {
    let set = ServerAction::<SetCsmSentiment>::new();
    let shown = RwSignal::new(current);
    let labels = [
        (1, "1 · very worried"),
        (2, "2 · worried"),
        (3, "3 · neutral"),
        (4, "4 · happy"),
        (5, "5 · very happy"),
    ];
    view! {
        <label class="mt-3 block w-full text-xs text-slate-600">
            "Your sentiment"
            <select class="input mt-1 text-sm" data-testid="csm-sentiment"
                prop:value=move || shown.get().map(|s| s.to_string()).unwrap_or_default()
                on:change=move |ev| {
                    let v = event_target_value(&ev).parse::<u8>().ok();
                    shown.set(v);
                    set.dispatch(SetCsmSentiment { customer_id, sentiment: v });
                }>
                <option value="">"Not given"</option>
                {labels.into_iter().map(|(v, l)| view! { <option value=v.to_string()>{l}</option> }).collect_view()}
            </select>
        </label>
        {move || match set.value().get() {
            Some(Ok(())) => Some(view! { <p class="mt-1 text-xs text-slate-500" data-testid="csm-sentiment-saved">"Saved: the score takes it in within seconds."</p> }.into_any()),
            Some(Err(e)) => Some(view! { <p class="mt-1 text-xs text-red-600">{e.to_string()}</p> }.into_any()),
            None => None,
        }}
    }
}

/// The gauge, the level, the trends and (for editors) the CSM's sentiment.
fn summary_column(
    health: &Health,
    moves: &[HealthMove],
    score: u8,
    sentiment_of: Option<(i64, Option<u8>)>,
) -> AnyView {
    let trends: Vec<(String, &'static str)> = moves.iter().map(|m| trend_text(m, score)).collect();
    view! {
        <div class="flex flex-col items-center lg:col-span-3">
            <Gauge health=health.clone()/>
            <p class=format!("mt-1 text-sm font-semibold {}", level_text(health.level)) data-testid="health-level">{health.level.label()}</p>
            {trends.into_iter().map(|(text, class)| view! { <p class=format!("mt-1 text-xs {class}")>{text}</p> }).collect_view()}
            {sentiment_of.map(|(customer_id, current)| view! { <SentimentPicker customer_id=customer_id current=current/> })}
        </div>
    }
    .into_any()
}

/// Every measure: raw value, normalised score, weight and points.
fn measures_table(measures: Vec<vcsm::health::MeasureScore>) -> AnyView {
    view! {
            <details class="mt-5 border-t border-slate-100 pt-3">
                <summary class="cursor-pointer text-xs font-medium text-slate-600" data-testid="measures-toggle">"Every measure"</summary>
                <div class="mt-2 overflow-x-auto">
                    <table class="min-w-full text-sm" data-testid="health-measures">
                        <thead><tr>
                            <th class="th">"Measure"</th><th class="th text-right">"Value"</th><th class="th text-right">"Score"</th>
                            <th class="th text-right">"Weight"</th><th class="th text-right">"Points"</th>
                        </tr></thead>
                        <tbody>
                            {measures.into_iter().map(|m| view! {
                                <tr>
                                    <td class="td">{m.label.clone()}</td>
                                    <td class="td text-right tabular-nums">{m.raw.map_or_else(|| "no data".to_string(), |v| format_value(v, &m.unit))}</td>
                                    <td class="td text-right tabular-nums">{m.normalised.map_or_else(|| "—".to_string(), |v| format!("{v:.0}"))}</td>
                                    <td class="td text-right tabular-nums">{format!("{:.1} %", m.share * 100.0)}</td>
                                    <td class="td text-right tabular-nums">{format!("{:.1}", m.points)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
    }
    .into_any()
}

fn health_card(h: CustomerHealthDto, can_edit: bool, customer_id: i64) -> impl IntoView {
    let CustomerHealthDto {
        health,
        computed_at,
        scorecard_version,
        levels,
        history,
        moves,
        csm_sentiment,
        now,
    } = h;
    let score = health.score.value();
    let week = moves.iter().find(|m| m.days == 7).cloned();
    let month = moves.iter().find(|m| m.days == 30).cloned();
    let show_month = RwSignal::new(false);
    let groups = health.groups.clone();
    let measures = health.measures.clone();
    view! {
        <section class="card mt-6 p-5" data-testid="health">
            <div class="mb-4 flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="text-sm font-semibold text-slate-700">"Health"</h2>
                <p class="text-xs text-slate-500" title=vcsm::timefmt::date_time(computed_at)>
                    {format!("Scored {} · scorecard v{scorecard_version}", ago(computed_at, now))}
                </p>
            </div>
            <div class="grid gap-6 lg:grid-cols-12">
                {summary_column(&health, &moves, score, can_edit.then_some((customer_id, csm_sentiment)))}
                <div class="lg:col-span-5">
                    <p class="mb-1 text-xs text-slate-500">"Last 90 days"</p>
                    <HistoryChart history=history levels=levels now=now/>
                    <div class="mt-4">
                        <div class="mb-2 flex items-center gap-3 text-xs">
                            <span class="font-medium text-slate-700">"What moved it"</span>
                            <button type="button" class="rounded px-2 py-0.5" class:bg-indigo-50=move || !show_month.get() class:text-indigo-700=move || !show_month.get() on:click=move |_| show_month.set(false)>"7 days"</button>
                            <button type="button" class="rounded px-2 py-0.5" class:bg-indigo-50=move || show_month.get() class:text-indigo-700=move || show_month.get() on:click=move |_| show_month.set(true) data-testid="moves-30">"30 days"</button>
                        </div>
                        {move || {
                            let m = if show_month.get() { month.clone() } else { week.clone() };
                            m.map(|m| view! { <Moves m=m/> })
                        }}
                    </div>
                </div>
                <div class="lg:col-span-4">
                    <p class="mb-2 text-xs text-slate-500">"By group (score · share of the total)"</p>
                    <ul class="space-y-2.5" data-testid="health-groups">
                        {groups.into_iter().map(|g| {
                            let width = g.score.unwrap_or(0.0).clamp(0.0, 100.0);
                            view! {
                                <li>
                                    <div class="flex justify-between text-xs">
                                        <span class="font-medium text-slate-700">{g.label.clone()}</span>
                                        <span class="tabular-nums text-slate-500">{match g.score {
                                            Some(s) => format!("{s:.0} · {:.0} %", g.share * 100.0),
                                            None => "no data".to_string(),
                                        }}</span>
                                    </div>
                                    <div class="mt-1 h-1.5 rounded-full bg-slate-100">
                                        <div class="h-full rounded-full bg-indigo-500" style=format!("width: {width:.0}%")></div>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            </div>
            {measures_table(measures)}
        </section>
    }
}

/// The health card of a customer's page, loaded on its own so the page doesn't wait.
#[component]
pub fn HealthPanel(customer_id: i64, can_edit: bool) -> impl IntoView {
    let data = Resource::new(move || customer_id, customer_health);
    view! {
        <Transition fallback=|| view! { <section class="card mt-6 p-5 text-sm text-slate-500">"Loading health…"</section> }>
            {move || data.get().map(|r| match r {
                Ok(Some(h)) => health_card(h, can_edit, customer_id).into_any(),
                Ok(None) => view! {
                    <section class="card mt-6 p-5 text-sm text-slate-500" data-testid="health">
                        <h2 class="mb-1 text-sm font-semibold text-slate-700">"Health"</h2>
                        "Not scored yet: customers are scored seconds after new data arrives, and all of them every night."
                    </section>
                }.into_any(),
                Err(e) => view! { <div class="mt-6"><ErrorNotice error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}
