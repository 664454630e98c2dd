//! Churn risk: the panel on a customer's page (probability, risk band, the factors behind
//! it) and the model page (how well the model works, measured: cross-validated AUC,
//! top-decile lift, calibration, a backtest, the health score as the baseline, and its
//! coefficients). Charts are SVG rendered on the server.

use leptos::prelude::*;
use vcsm::auth::Role;
use vcsm::churn::{Backtest, CalibrationBin, Candidate, ForwardTest, ModelMetrics, Ranking, Risk};

use super::components::{user_can, ErrorNotice, Loading, PageHeader};
use crate::api::health::{churn_model, customer_churn, RetrainChurnModel};
use crate::dto::{ChurnDto, ChurnModelDto, TrainingRunDto};

pub(crate) fn risk_badge(risk: Risk) -> &'static str {
    match risk {
        Risk::High => "rounded bg-red-100 px-2 py-0.5 text-xs font-semibold text-red-800",
        Risk::Medium => "rounded bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-800",
        Risk::Low => "rounded bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-800",
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$}"))
}

/// The churn card on a customer's page.
#[component]
pub fn ChurnPanel(customer_id: i64) -> impl IntoView {
    let data = Resource::new(move || customer_id, customer_churn);
    view! {
        <Transition fallback=|| view! { <section class="card mt-6 p-5 text-sm text-slate-500">"Loading churn risk…"</section> }>
            {move || data.get().map(|r| match r {
                Ok(Some(c)) => churn_card(c).into_any(),
                Ok(None) => view! {
                    <section class="card mt-6 p-5 text-sm text-slate-500" data-testid="churn">
                        <h2 class="mb-1 text-sm font-semibold text-slate-700">"Churn risk"</h2>
                        "No prediction yet. Live customers are predicted whenever their health is scored; churned and archived ones are not."
                    </section>
                }.into_any(),
                Err(e) => view! { <div class="mt-6"><ErrorNotice error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

fn churn_card(c: ChurnDto) -> impl IntoView {
    let headline = c
        .probability
        .map_or_else(|| c.risk.label().to_string(), vcsm::churn::probability_text);
    let source = match (c.probability, c.model_trained_at) {
        (Some(_), Some(at)) => format!(
            "Chance of churning within {} days, from the model trained {}.",
            c.horizon_days,
            vcsm::timefmt::date(at.date_naive())
        ),
        _ => "No churn model yet (too little churn history): risk follows the health level.".into(),
    };
    let factors = c.factors.clone();
    view! {
        <section class="card mt-6 p-5" data-testid="churn">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="text-sm font-semibold text-slate-700">"Churn risk"</h2>
                <a href="/health/model" class="text-xs text-indigo-700 hover:underline">"How the model is validated →"</a>
            </div>
            <div class="mt-3 flex flex-wrap items-center gap-3">
                <span class="text-3xl font-semibold tabular-nums text-slate-900" data-testid="churn-probability">{headline}</span>
                <span class=risk_badge(c.risk) data-testid="churn-risk">{format!("{} risk", c.risk.label())}</span>
            </div>
            <p class="mt-1 text-xs text-slate-500">{source}</p>
            {if factors.is_empty() {
                view! { <p class="mt-3 text-sm text-slate-600">"Nothing in particular pushes this customer towards churn."</p> }.into_any()
            } else {
                view! {
                    <h3 class="mt-4 text-xs font-semibold uppercase tracking-wide text-slate-500">"What drives it"</h3>
                    <ul class="mt-2 space-y-1 text-sm text-slate-700" data-testid="churn-factors">
                        {factors.into_iter().map(|f| view! {
                            <li class="flex items-start gap-2">
                                <span class="mt-1.5 h-2 w-2 shrink-0 rounded-full bg-red-500"></span>
                                <span>{f.text}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// `/health/model`: is the churn model any good, and why does it say what it says.
#[component]
pub fn ChurnModelPage() -> impl IntoView {
    let can_train = user_can(Role::can_admin);
    let retrain = ServerAction::<RetrainChurnModel>::new();
    let data = Resource::new(move || retrain.version().get(), |_| churn_model());
    view! {
        <PageHeader title="Churn model".into() subtitle="Trained on this portfolio's own history and validated on customers it never saw: how well it ranks, how honest its probabilities are, and what it weighs.".into()/>
        <Transition fallback=Loading>
            {move || data.get().map(|r| match r {
                Ok(dto) => {
                    // While a training runs here, poll until it is done.
                    if dto.training {
                        set_timeout(move || data.refetch(), std::time::Duration::from_millis(1000));
                    }
                    let training = dto.training;
                    view! {
                        {can_train.get().then(|| view! {
                            <ActionForm action=retrain attr:class="mb-4 flex justify-end">
                                <button type="submit" class="btn-primary" data-testid="retrain" disabled=move || retrain.pending().get() || training>
                                    {move || if retrain.pending().get() || training { "Training…" } else { "Retrain now" }}
                                </button>
                            </ActionForm>
                        })}
                        {model_view(dto)}
                    }.into_any()
                }
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

fn status_banner(dto: &ChurnModelDto) -> AnyView {
    let Some(latest) = dto.latest.clone() else {
        return view! {
            <div class="card mb-6 p-5 text-sm text-slate-600" data-testid="model-status">
                "No training has run yet. The model trains every night on the portfolio's history, or now with “Retrain now”."
            </div>
        }
        .into_any();
    };
    let when = vcsm::timefmt::date_time(latest.trained_at);
    let (class, text) = match latest.status.as_str() {
        "trained" => (
            "mb-6 rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900",
            format!(
                "Trained {when} ({}) on {} observations of {} customers, {} of whom churned within {} days. Took {:.1} s.",
                latest.trigger, latest.observations, latest.customers, latest.churned, latest.horizon_days,
                latest.duration_ms as f64 / 1000.0
            ),
        ),
        "fallback" => (
            "mb-6 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900",
            format!(
                "Not enough history for a model ({when}): {} churned customers, at least {} needed. Until then churn risk follows the health score: Poor health is high risk, Fair medium.",
                latest.churned, dto.min_churned
            ),
        ),
        _ => (
            "mb-6 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900",
            format!(
                "The last training failed ({when}): {}. The previous model stays in use.",
                latest.detail.unwrap_or_default()
            ),
        ),
    };
    view! { <div class=class data-testid="model-status">{text}{dto.training.then_some(" Retraining now…")}</div> }
        .into_any()
}

fn model_view(dto: ChurnModelDto) -> impl IntoView {
    let banner = status_banner(&dto);
    let metrics = dto.metrics.clone();
    let [high, medium, low] = dto.risk_counts;
    view! {
        {banner}
        <div class="mb-6 grid gap-4 sm:grid-cols-3">
            <div class="card p-4"><p class="text-xs text-slate-500">"High risk now"</p><p class="text-2xl font-semibold tabular-nums text-red-700" data-testid="risk-high">{high}</p></div>
            <div class="card p-4"><p class="text-xs text-slate-500">"Medium risk"</p><p class="text-2xl font-semibold tabular-nums text-amber-700">{medium}</p></div>
            <div class="card p-4"><p class="text-xs text-slate-500">"Low risk"</p><p class="text-2xl font-semibold tabular-nums text-emerald-700">{low}</p></div>
        </div>
        {metrics.map(metrics_view)}
        {runs_table(dto.runs)}
    }
}

fn tile(label: &'static str, value: String, note: String, testid: &'static str) -> impl IntoView {
    view! {
        <div class="card p-4">
            <p class="text-xs text-slate-500">{label}</p>
            <p class="text-2xl font-semibold tabular-nums text-slate-900" data-testid=testid>{value}</p>
            <p class="mt-1 text-xs text-slate-500">{note}</p>
        </div>
    }
}

fn metrics_view(m: ModelMetrics) -> AnyView {
    let beats = match (m.cv_auc, m.health_auc) {
        (Some(a), Some(h)) if a > h => format!("The health score alone ranks at {h:.2}."),
        (Some(_), Some(h)) => format!("No better than the health score alone ({h:.2})."),
        _ => "Health baseline not measured.".into(),
    };
    view! {
        <div class="mb-6 grid gap-4 md:grid-cols-4">
            {tile("Cross-validated AUC", fmt_opt(m.cv_auc, 3), format!("{} folds, each customer's rows kept together. 0.5 is a coin toss. {beats}", m.cv_folds), "cv-auc")}
            {tile("Top-decile lift", m.top_decile_lift.map_or_else(|| "—".into(), |l| format!("{l:.1}×")), "How much likelier the riskiest tenth is to churn than the average customer.".into(), "lift")}
            {tile("Health score AUC", fmt_opt(m.health_auc, 3), "The baseline: ranking by health alone, on the same observations.".into(), "health-auc")}
            {tile("Base rate", format!("{:.1} %", m.base_rate * 100.0), "Observations followed by churn within the horizon.".into(), "base-rate")}
        </div>
        {forward_view(m.forward.clone())}
        {candidates_view(&m.candidates)}
        <div class="mb-6 grid gap-6 lg:grid-cols-2">
            <section class="card p-5">
                <h2 class="text-sm font-semibold text-slate-700">"Calibration"</h2>
                <p class="mb-3 text-xs text-slate-500">"Predicted against observed churn, out of fold, by tenths of predicted probability. On the diagonal, a 30 % prediction comes true 30 % of the time."</p>
                {calibration_chart(&m.calibration)}
            </section>
            <section class="card p-5">
                <h2 class="text-sm font-semibold text-slate-700">"Backtest"</h2>
                {backtest_view(m.backtest.clone())}
            </section>
        </div>
        {coefficients_view(&m)}
        {m.suggested_weights.clone().map(suggestion_view)}
    }
    .into_any()
}

/// Scorecard weights learned from churn: what each measure alone told apart.
fn suggestion_view(s: vcsm::churn::suggest::WeightSuggestion) -> impl IntoView {
    view! {
        <section class="card mb-6 overflow-x-auto p-5" data-testid="suggested-weights">
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div>
                    <h2 class="text-sm font-semibold text-slate-700">"Scorecard weights learned from churn"</h2>
                    <p class="mb-3 text-xs text-slate-500">{format!(
                        "How well each health measure alone told apart who stayed from who churned, on {} observations scored with scorecard version {}. A measure that separates nothing keeps the smallest weight.",
                        vcsm::money::group_thousands(s.observations),
                        s.version
                    )}</p>
                </div>
                <a class="btn-secondary" href="/health/scorecard?draft=model" data-testid="review-draft">"Review as a draft scorecard"</a>
            </div>
            <table class="min-w-full text-sm">
                <thead>
                    <tr class="text-left text-xs text-slate-500">
                        <th class="pb-2 pr-4 font-medium">"Measure"</th>
                        <th class="pb-2 pr-4 font-medium">"Group"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"AUC alone"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Has data"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Weight now"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Suggested"</th>
                    </tr>
                </thead>
                <tbody>
                    {s.measures.into_iter().map(|e| view! {
                        <tr class="border-t border-slate-100">
                            <td class="py-1.5 pr-4 text-slate-700">{e.label}</td>
                            <td class="py-1.5 pr-4 text-slate-500">{e.group}</td>
                            <td class="py-1.5 pr-4 text-right tabular-nums">{fmt_opt(e.auc, 2)}</td>
                            <td class="py-1.5 pr-4 text-right tabular-nums">{format!("{:.0} %", e.coverage * 100.0)}</td>
                            <td class="py-1.5 pr-4 text-right tabular-nums">{format!("{:.0}", e.weight)}</td>
                            <td class="py-1.5 pr-4 text-right font-semibold tabular-nums">{format!("{:.0}", e.suggested)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

fn calibration_chart(bins: &[CalibrationBin]) -> impl IntoView {
    const W: f64 = 320.0;
    const H: f64 = 220.0;
    const PAD: f64 = 32.0;
    let x = |p: f64| PAD + p * (W - PAD - 8.0);
    let y = |p: f64| H - PAD - p * (H - PAD - 8.0);
    let total: u64 = bins.iter().map(|b| b.samples).sum::<u64>().max(1);
    let points: Vec<_> = bins
        .iter()
        .map(|b| {
            let r = 3.0 + 9.0 * (b.samples as f64 / total as f64).sqrt();
            let title = format!(
                "{:.0}–{:.0} %: {} observations, predicted {:.1} %, observed {:.1} %",
                b.from * 100.0,
                b.from * 100.0 + 10.0,
                b.samples,
                b.mean_predicted * 100.0,
                b.observed * 100.0
            );
            view! {
                <circle cx=format!("{:.1}", x(b.mean_predicted)) cy=format!("{:.1}", y(b.observed)) r=format!("{r:.1}")
                    fill="#4f46e5" fill-opacity="0.7"><title>{title}</title></circle>
            }
        })
        .collect();
    let ticks: Vec<_> = [0.0, 0.5, 1.0]
        .into_iter()
        .map(|t| {
            view! {
                <text x=format!("{:.1}", x(t)) y=format!("{:.1}", H - PAD + 14.0) text-anchor="middle" font-size="10" fill="#64748b">{format!("{:.0}%", t * 100.0)}</text>
                <text x=format!("{:.1}", PAD - 6.0) y=format!("{:.1}", y(t) + 3.0) text-anchor="end" font-size="10" fill="#64748b">{format!("{:.0}%", t * 100.0)}</text>
            }
        })
        .collect();
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="w-full max-w-md" role="img" aria-label="Calibration chart" data-testid="calibration-chart">
            <rect x=PAD y="8" width=W - PAD - 8.0 height=H - PAD - 8.0 fill="#f8fafc" stroke="#e2e8f0"/>
            <line x1=format!("{:.1}", x(0.0)) y1=format!("{:.1}", y(0.0)) x2=format!("{:.1}", x(1.0)) y2=format!("{:.1}", y(1.0)) stroke="#94a3b8" stroke-dasharray="4 3"/>
            {ticks}
            {points}
            <text x=format!("{:.1}", W / 2.0 + PAD / 2.0) y=format!("{:.1}", H - 4.0) text-anchor="middle" font-size="10" fill="#475569">"predicted"</text>
            <text x="10" y=format!("{:.1}", H / 2.0) text-anchor="middle" font-size="10" fill="#475569" transform=format!("rotate(-90 10 {:.1})", H / 2.0)>"observed"</text>
        </svg>
    }
}

fn ranking_cells(r: Ranking) -> impl IntoView {
    view! {
        <td class="py-1.5 pr-4 text-right tabular-nums">{fmt_opt(r.auc, 3)}</td>
        <td class="py-1.5 pr-4 text-right tabular-nums">{r.lift.map_or_else(|| "—".into(), |l| format!("{l:.1}×"))}</td>
    }
}

/// The forward test: does the model add anything over tenure alone and the health score?
fn forward_view(f: Option<ForwardTest>) -> AnyView {
    let Some(f) = f else {
        return view! {
            <section class="card mb-6 p-5" data-testid="forward-test">
                <h2 class="text-sm font-semibold text-slate-700">"Forward test"</h2>
                <p class="mt-1 text-sm text-slate-600">"Not enough history yet to test the model forward: it needs churned customers known a horizon (90 days) before a validation date. Until then the figures above come from cross-validation."</p>
            </section>
        }
        .into_any();
    };
    let verdict = f.verdict();
    view! {
        <section class="card mb-6 overflow-x-auto p-5" data-testid="forward-test">
            <h2 class="text-sm font-semibold text-slate-700">"Forward test: the model against tenure alone and the health score"</h2>
            <p class="mb-3 text-xs text-slate-500">"At each validation date a model trained only on what was known by then (observations whose 90 days had passed) scored every customer; we then looked at who churned in the 90 days after. Tenure alone and the health score ranked the same customers."</p>
            <p class="mb-3 text-sm font-medium text-slate-800" data-testid="forward-verdict">{verdict}</p>
            <table class="min-w-full text-sm">
                <thead>
                    <tr class="text-left text-xs text-slate-500">
                        <th class="pb-2 pr-4 font-medium">"Validation date"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Customers"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Churned"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Model AUC"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Model lift"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Tenure AUC"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Tenure lift"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Health AUC"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Health lift"</th>
                    </tr>
                </thead>
                <tbody>
                    {f.dates.into_iter().map(|d| view! {
                        <tr class="border-t border-slate-100">
                            <td class="py-1.5 pr-4 whitespace-nowrap">{vcsm::timefmt::date(d.at)}</td>
                            <td class="py-1.5 pr-4 text-right tabular-nums">{d.customers}</td>
                            <td class="py-1.5 pr-4 text-right tabular-nums">{d.churned}</td>
                            {ranking_cells(d.model)}
                            {ranking_cells(d.tenure)}
                            {ranking_cells(d.health)}
                        </tr>
                    }).collect_view()}
                    <tr class="border-t-2 border-slate-200 font-semibold" data-testid="forward-mean">
                        <td class="py-1.5 pr-4" colspan="3">"Mean"</td>
                        {ranking_cells(f.model)}
                        {ranking_cells(f.tenure)}
                        {ranking_cells(f.health)}
                    </tr>
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// The algorithms the forward test compared, and which one was kept.
fn candidates_view(candidates: &[Candidate]) -> Option<impl IntoView> {
    (!candidates.is_empty()).then(|| view! {
        <section class="card mb-6 overflow-x-auto p-5" data-testid="candidates">
            <h2 class="text-sm font-semibold text-slate-700">"Algorithms compared"</h2>
            <p class="mb-3 text-xs text-slate-500">"Each was trained and scored at the same validation dates; the table gives the means. Trees are kept only when they beat the best logistic regression by at least 0.01 AUC: a linear model's factors are plainer to read."</p>
            <table class="min-w-full text-sm">
                <thead>
                    <tr class="text-left text-xs text-slate-500">
                        <th class="pb-2 pr-4 font-medium">"Algorithm"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Forward AUC"</th>
                        <th class="pb-2 pr-4 text-right font-medium">"Forward lift"</th>
                        <th class="pb-2 pr-4 font-medium"></th>
                    </tr>
                </thead>
                <tbody>
                    {candidates.iter().cloned().map(|c| view! {
                        <tr class="border-t border-slate-100" class:font-semibold=c.chosen>
                            <td class="py-1.5 pr-4">{c.name}</td>
                            {ranking_cells(c.forward)}
                            <td class="py-1.5 pr-4 text-xs text-emerald-700">{c.chosen.then_some("in use")}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    })
}

fn backtest_view(b: Option<Backtest>) -> AnyView {
    let Some(b) = b else {
        return view! {
            <p class="mt-2 text-sm text-slate-600" data-testid="backtest">"Not enough history a horizon back to train a model then and check it against what happened since."</p>
        }
        .into_any();
    };
    view! {
        <p class="mt-1 text-xs text-slate-500">{format!(
            "A model trained only on what was known by {} scored every customer that day; then we looked at who had churned by {}.",
            vcsm::timefmt::date(b.scored_on), vcsm::timefmt::date(b.until)
        )}</p>
        <dl class="mt-4 grid grid-cols-2 gap-4 text-sm" data-testid="backtest">
            <div><dt class="text-xs text-slate-500">"Customers scored"</dt><dd class="font-semibold tabular-nums">{b.customers}</dd></div>
            <div><dt class="text-xs text-slate-500">"Churned since"</dt><dd class="font-semibold tabular-nums">{b.churned}</dd></div>
            <div><dt class="text-xs text-slate-500">"AUC"</dt><dd class="font-semibold tabular-nums">{fmt_opt(b.auc, 3)}</dd></div>
            <div><dt class="text-xs text-slate-500">"Top-decile lift"</dt><dd class="font-semibold tabular-nums">{b.lift.map_or_else(|| "—".into(), |l| format!("{l:.1}×"))}</dd></div>
            <div class="col-span-2"><dt class="text-xs text-slate-500">"Flagged high risk that day"</dt><dd class="font-semibold">{format!("{} customers, {} of whom churned", b.flagged, b.caught)}</dd></div>
        </dl>
    }
    .into_any()
}

/// What the bars of "What the model weighs" mean, for the algorithm in use.
fn weights_text(m: &ModelMetrics) -> String {
    let chosen_by = if m.chosen_by.is_empty() {
        "cross-validation"
    } else {
        m.chosen_by.as_str()
    };
    let groups =
        "Features that move together are read as one group (their standardised values averaged)";
    if m.algorithm.starts_with("Gradient-boosted") {
        format!(
            "{} (chosen by {chosen_by}). {groups}; each figure is the group's mean push on the log-odds of churn across customers: red when its higher values raise the risk, green when they lower it.",
            m.algorithm
        )
    } else {
        format!(
            "Regularised logistic regression (penalty {} per observation, chosen by {chosen_by}). {groups}; each weight is the change in the log-odds of churn per standard deviation of the group: red raises the risk, green lowers it.",
            m.lambda
        )
    }
}

fn coefficients_view(m: &ModelMetrics) -> impl IntoView {
    let mut rows = m.coefficients.clone();
    rows.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    let max = rows
        .iter()
        .map(|c| c.weight.abs())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    view! {
        <section class="card mb-6 overflow-x-auto p-5">
            <h2 class="text-sm font-semibold text-slate-700">"What the model weighs"</h2>
            <p class="mb-3 text-xs text-slate-500">{weights_text(m)}</p>
            <table class="min-w-full text-sm" data-testid="coefficients">
                <tbody>
                    {rows.into_iter().map(|c| {
                        let width = c.weight.abs() / max * 100.0;
                        let (bar, sign) = if c.weight > 0.0 { ("h-2 rounded bg-red-500", "raises") } else { ("h-2 rounded bg-emerald-500", "lowers") };
                        view! {
                            <tr class="border-t border-slate-100">
                                <td class="py-1.5 pr-4 text-slate-700" title=c.members.join(", ")>{c.label}</td>
                                <td class="w-24 py-1.5 pr-4 text-right tabular-nums text-slate-600" title=sign>{format!("{:+.2}", c.weight)}</td>
                                <td class="w-48 py-1.5"><div class=bar style=format!("width: {width:.0}%")></div></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

fn runs_table(runs: Vec<TrainingRunDto>) -> impl IntoView {
    (!runs.is_empty()).then(|| {
        view! {
            <section class="card overflow-x-auto p-5">
                <h2 class="mb-3 text-sm font-semibold text-slate-700">"Recent trainings"</h2>
                <table class="min-w-full text-sm" data-testid="training-runs">
                    <thead>
                        <tr class="text-left text-xs text-slate-500">
                            <th class="pb-2 pr-4 font-medium">"When"</th>
                            <th class="pb-2 pr-4 font-medium">"Outcome"</th>
                            <th class="pb-2 pr-4 font-medium">"Started by"</th>
                            <th class="pb-2 pr-4 text-right font-medium">"Observations"</th>
                            <th class="pb-2 pr-4 text-right font-medium">"Churned"</th>
                            <th class="pb-2 pr-4 text-right font-medium">"CV AUC"</th>
                            <th class="pb-2 text-right font-medium">"Took"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {runs.into_iter().map(|r| view! {
                            <tr class="border-t border-slate-100">
                                <td class="py-1.5 pr-4 whitespace-nowrap">{vcsm::timefmt::date_time(r.trained_at)}</td>
                                <td class="py-1.5 pr-4">{r.status}</td>
                                <td class="py-1.5 pr-4">{r.trigger}</td>
                                <td class="py-1.5 pr-4 text-right tabular-nums">{r.observations}</td>
                                <td class="py-1.5 pr-4 text-right tabular-nums">{r.churned}</td>
                                <td class="py-1.5 pr-4 text-right tabular-nums">{fmt_opt(r.cv_auc, 3)}</td>
                                <td class="py-1.5 text-right tabular-nums">{format!("{:.1} s", r.duration_ms as f64 / 1000.0)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        }
    })
}
