//! Small shared components: badges, cards, error and empty states.

use leptos::prelude::*;
use leptos_meta::Title;
use vcsm::auth::Role;
use vcsm::customers::{Stage, Tier};

use crate::dto::CurrentUser;
use crate::error::AppError;

/// The signed-in user, loaded once by the layout and read by pages.
#[derive(Clone, Copy)]
pub struct UserResource(pub Resource<Result<Option<CurrentUser>, AppError>>);

/// Whether the signed-in user is known yet (loaded, or there is no layout to load it).
///
/// A page whose view depends on the user *and creates resources* must wait for this
/// before rendering: on the server the page's data may arrive before the user, and a
/// first render without the user then a second with them would create the nested
/// resources twice. Resources are matched to their serialized data by the order they are
/// created in, and the browser, which has both at once, renders only once: its resources
/// would read another's data and the page would not hydrate — only when the server
/// happened to load the page's data first, so it looked flaky.
pub fn user_known() -> Signal<bool> {
    let res = use_context::<UserResource>();
    Signal::derive(move || res.is_none_or(|r| r.0.get().is_some()))
}

/// Whether the signed-in user passes `allowed` (false while unknown).
pub fn user_can(allowed: fn(Role) -> bool) -> Signal<bool> {
    let res = use_context::<UserResource>();
    Signal::derive(move || {
        res.and_then(|r| r.0.get())
            .and_then(|r| r.ok())
            .flatten()
            .is_some_and(|u| allowed(u.role))
    })
}

#[component]
pub fn StageBadge(stage: Stage) -> impl IntoView {
    let class = match stage {
        Stage::Trial => "bg-sky-50 text-sky-700 ring-sky-200",
        Stage::Onboarding => "bg-violet-50 text-violet-700 ring-violet-200",
        Stage::Active => "bg-emerald-50 text-emerald-700 ring-emerald-200",
        Stage::AtRisk => "bg-amber-50 text-amber-800 ring-amber-200",
        Stage::Churned => "bg-slate-100 text-slate-600 ring-slate-200",
    };
    view! {
        <span class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset whitespace-nowrap {class}")>
            {stage.label()}
        </span>
    }
}

#[component]
pub fn TierBadge(tier: Tier) -> impl IntoView {
    let class = match tier {
        Tier::Enterprise => "bg-indigo-50 text-indigo-700",
        Tier::MidMarket => "bg-blue-50 text-blue-700",
        Tier::SmallBusiness => "bg-teal-50 text-teal-700",
        Tier::Trial => "bg-slate-100 text-slate-600",
    };
    view! { <span class=format!("inline-flex rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap {class}")>{tier.label()}</span> }
}

/// A page's heading, with actions on the right.
#[component]
pub fn PageHeader(
    title: String,
    #[prop(optional)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <Title text=title.clone()/>
        <div class="mb-6 flex flex-wrap items-start justify-between gap-4">
            <div class="min-w-0">
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900 break-words">{title}</h1>
                {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-500">{s}</p> })}
            </div>
            <div class="flex flex-wrap items-center gap-2">{children.map(|c| c())}</div>
        </div>
    }
}

/// An error as the user should see it, with the way out.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let (title, body, link) = match &error {
        AppError::Unauthorized => (
            "Signed out",
            "Your session has ended. Sign in again to continue.".to_string(),
            Some(("/login", "Sign in")),
        ),
        AppError::Forbidden(m) => (
            "Not allowed",
            m.clone(),
            Some(("/", "Back to the dashboard")),
        ),
        AppError::NotFound(m) => (
            "Not found",
            m.clone(),
            Some(("/customers", "Back to customers")),
        ),
        other => ("Something went wrong", other.to_string(), None),
    };
    view! {
        <div role="alert" class="card border-red-200 bg-red-50 p-5">
            <h2 class="font-semibold text-red-800">{title}</h2>
            <p class="mt-1 text-sm text-red-700">{body}</p>
            {link.map(|(href, text)| view! { <a class="mt-3 inline-block text-sm font-medium text-red-800 underline" href=href>{text}</a> })}
        </div>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <div class="flex items-center gap-2 p-6 text-sm text-slate-500" aria-busy="true">
            <span class="h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-indigo-600"></span>
            "Loading…"
        </div>
    }
}

#[component]
pub fn EmptyState(
    title: String,
    #[prop(optional)] hint: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="flex flex-col items-center justify-center gap-2 px-6 py-14 text-center">
            <p class="font-medium text-slate-700">{title}</p>
            {hint.map(|h| view! { <p class="max-w-md text-sm text-slate-500">{h}</p> })}
            <div class="mt-2">{children.map(|c| c())}</div>
        </div>
    }
}

/// One labelled figure on a card.
#[component]
pub fn Stat(
    label: &'static str,
    value: String,
    #[prop(optional)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <div class="card p-5">
            <p class="text-sm font-medium text-slate-500">{label}</p>
            <p class="mt-1 text-2xl font-semibold tracking-tight text-slate-900">{value}</p>
            {hint.map(|h| view! { <p class="mt-1 text-xs text-slate-500">{h}</p> })}
        </div>
    }
}

/// The message under a form field, when it has one.
#[component]
pub fn FieldError(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="mt-1 text-xs text-red-600" role="alert">{move || message.get()}</p>
        </Show>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <div class="mx-auto mt-24 max-w-md p-6 text-center">
            <p class="text-sm font-semibold text-indigo-600">"404"</p>
            <h1 class="mt-2 text-2xl font-semibold">"Page not found"</h1>
            <p class="mt-2 text-slate-500">"The page you asked for does not exist."</p>
            <a href="/" class="btn-primary mt-6">"Go to the dashboard"</a>
        </div>
    }
}

/// "Page 2 of 7 · 340 alerts" with Previous / Next, for a list of `total` `noun`s shown
/// `page_size` at a time; nothing when it all fits on one page.
#[component]
pub fn Pager(
    total: u64,
    page_size: u64,
    /// The page shown, from 0.
    current: u64,
    noun: &'static str,
    page: RwSignal<u64>,
) -> impl IntoView {
    let pages = total.div_ceil(page_size.max(1));
    (pages > 1).then(|| {
        view! {
            <div class="mt-3 flex items-center justify-between text-sm text-slate-600">
                <span>{format!("Page {} of {pages} · {total} {noun}", current + 1)}</span>
                <div class="flex gap-2">
                    <button type="button" class="btn-secondary" disabled={current == 0} on:click=move |_| page.set(current.saturating_sub(1))>"Previous"</button>
                    <button type="button" class="btn-secondary" disabled={current + 1 >= pages} on:click=move |_| page.set(current + 1)>"Next"</button>
                </div>
            </div>
        }
    })
}
