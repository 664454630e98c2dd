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
mod imports;
mod integrations;
mod jobs;
mod layout;
mod login;
mod outbox;
mod playbooks;
mod scorecard;
pub(crate) mod tasks;
mod users;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

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

/// A page whose code the browser loads only when the page is opened: with
/// `cargo leptos build --split`, what only this page uses (its views, its server-function
/// calls) goes into a wasm file of its own. The first pages a user opens (sign-in,
/// dashboard) and the layout stay in the main file.
macro_rules! lazy_page {
    ($route:ident => $page:path) => {
        struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                // The page loads its own data (its resources are in the server's HTML).
                let _ = this;
                untrack($page).into_any()
            }
        }
    };
}

lazy_page!(CustomerListRoute => customers::CustomerListPage);
lazy_page!(NewCustomerRoute => customer_form::NewCustomerPage);
lazy_page!(ImportRoute => imports::ImportPage);
lazy_page!(CustomerDetailRoute => customer_detail::CustomerDetailPage);
lazy_page!(EditCustomerRoute => customer_form::EditCustomerPage);
lazy_page!(UsersRoute => users::UsersPage);
lazy_page!(JobsRoute => jobs::JobsPage);
lazy_page!(AccountRoute => account::AccountPage);
lazy_page!(IntegrationsRoute => integrations::IntegrationsPage);
lazy_page!(ScorecardRoute => scorecard::ScorecardPage);
lazy_page!(ChurnModelRoute => churn::ChurnModelPage);
lazy_page!(AlertsRoute => alerts::AlertsPage);
lazy_page!(AlertRulesRoute => alert_rules::AlertRulesPage);
lazy_page!(ExpansionRoute => expansion::ExpansionPipelinePage);
lazy_page!(PlaybooksRoute => playbooks::PlaybooksPage);
lazy_page!(PlaybookRoute => playbooks::PlaybookPage);
lazy_page!(OutboxRoute => outbox::OutboxPage);
lazy_page!(TasksRoute => tasks::TasksPage);

/// Routes. Every page renders fully on the server (`SsrMode::Async`): its data is in the
/// HTML, so pages work before hydration and with JavaScript disabled. All but the first
/// pages are lazy (see `lazy_page`).
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
                    <Route path=path!("/customers") view={Lazy::<CustomerListRoute>::new()}/>
                    <Route path=path!("/customers/new") view={Lazy::<NewCustomerRoute>::new()}/>
                    <Route path=path!("/customers/import") view={Lazy::<ImportRoute>::new()}/>
                    <Route path=path!("/customers/:id") view={Lazy::<CustomerDetailRoute>::new()}/>
                    <Route path=path!("/customers/:id/edit") view={Lazy::<EditCustomerRoute>::new()}/>
                    <Route path=path!("/users") view={Lazy::<UsersRoute>::new()}/>
                    <Route path=path!("/jobs") view={Lazy::<JobsRoute>::new()}/>
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()}/>
                    <Route path=path!("/integrations") view={Lazy::<IntegrationsRoute>::new()}/>
                    <Route path=path!("/health/scorecard") view={Lazy::<ScorecardRoute>::new()}/>
                    <Route path=path!("/health/model") view={Lazy::<ChurnModelRoute>::new()}/>
                    <Route path=path!("/alerts") view={Lazy::<AlertsRoute>::new()}/>
                    <Route path=path!("/alerts/rules") view={Lazy::<AlertRulesRoute>::new()}/>
                    <Route path=path!("/expansion") view={Lazy::<ExpansionRoute>::new()}/>
                    <Route path=path!("/playbooks") view={Lazy::<PlaybooksRoute>::new()}/>
                    <Route path=path!("/playbooks/:key") view={Lazy::<PlaybookRoute>::new()}/>
                    <Route path=path!("/outbox") view={Lazy::<OutboxRoute>::new()}/>
                    <Route path=path!("/tasks") view={Lazy::<TasksRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
