//! Pages, layout and components.

mod account;
mod alert_rules;
mod alerts;
mod churn;
mod components;
mod customer_detail;
mod customer_form;
mod customers;
mod dashboard;
mod expansion;
pub(crate) mod health;
mod import;
mod integrations;
mod jobs;
mod layout;
mod login;
mod scorecard;
mod users;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app (server side).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's policy names the nonce Leptos puts on the scripts it inlines.
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        let policy =
            crate::security::content_security_policy(leptos::nonce::use_nonce().as_deref());
        if let Ok(v) = http::HeaderValue::from_str(&policy) {
            res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

/// Routes. Every page renders fully on the server (`SsrMode::Async`): its data is in the
/// HTML, so pages work before hydration and with JavaScript disabled.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/vcsm.css"/>
        <Title formatter=|t: String| crate::security::title_text(if t.is_empty() { "Virtual CSM".to_string() } else { format!("{t} · Virtual CSM") })/>
        <Router>
            <Routes fallback=components::NotFound>
                <Route path=path!("/login") view=login::LoginPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=layout::AppShell ssr=SsrMode::Async>
                    <Route path=path!("/") view=dashboard::DashboardPage/>
                    <Route path=path!("/customers") view=customers::CustomerListPage/>
                    <Route path=path!("/customers/new") view=customer_form::NewCustomerPage/>
                    <Route path=path!("/customers/import") view=import::ImportPage/>
                    <Route path=path!("/customers/:id") view=customer_detail::CustomerDetailPage/>
                    <Route path=path!("/customers/:id/edit") view=customer_form::EditCustomerPage/>
                    <Route path=path!("/users") view=users::UsersPage/>
                    <Route path=path!("/jobs") view=jobs::JobsPage/>
                    <Route path=path!("/account") view=account::AccountPage/>
                    <Route path=path!("/integrations") view=integrations::IntegrationsPage/>
                    <Route path=path!("/health/scorecard") view=scorecard::ScorecardPage/>
                    <Route path=path!("/health/model") view=churn::ChurnModelPage/>
                    <Route path=path!("/alerts") view=alerts::AlertsPage/>
                    <Route path=path!("/alerts/rules") view=alert_rules::AlertRulesPage/>
                    <Route path=path!("/expansion") view=expansion::ExpansionPipelinePage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
