//! The signed-in layout: sidebar navigation and the page.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use vcsm::auth::Role;

use super::components::UserResource;
use crate::api::alerts::alert_counts;
use crate::api::auth::{whoami, Logout};
use crate::api::tasks::task_counts;

#[component]
fn NavItem(
    href: &'static str,
    label: &'static str,
    icon: &'static str,
    collapsed: RwSignal<bool>,
    #[prop(optional)] exact: bool,
) -> impl IntoView {
    view! {
        <A
            href=href
            exact=exact
            attr:class="flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium text-slate-300 hover:bg-slate-800 hover:text-white aria-[current=page]:bg-slate-800 aria-[current=page]:text-white"
            attr:title=label
        >
            <span class="w-5 text-center" aria-hidden="true">{icon}</span>
            <span class:hidden=move || collapsed.get()>{label}</span>
        </A>
    }
}

/// The inbox's entry, with the count of alerts needing someone (refreshed on every
/// navigation).
#[component]
fn AlertsNav(collapsed: RwSignal<bool>) -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let counts = Resource::new(move || location.pathname.get(), |_| alert_counts());
    view! {
        <A
            href="/alerts"
            attr:class="flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium text-slate-300 hover:bg-slate-800 hover:text-white aria-[current=page]:bg-slate-800 aria-[current=page]:text-white"
            attr:title="Alerts"
        >
            <span class="w-5 text-center" aria-hidden="true">"⚑"</span>
            <span class:hidden=move || collapsed.get()>"Alerts"</span>
            <Transition fallback=|| ()>
                {move || counts.get().and_then(|r| r.ok()).filter(|(all, _)| *all > 0).map(|(all, mine)| view! {
                    <span class="ml-auto rounded-full bg-red-500 px-2 text-xs font-semibold text-white" data-testid="alert-count"
                        title=format!("{all} need attention, {mine} of them yours")>{all}</span>
                })}
            </Transition>
        </A>
    }
}

/// The cockpit's entry, with the signed-in user's open tasks (red when some are overdue).
#[component]
fn TasksNav(collapsed: RwSignal<bool>) -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let counts = Resource::new(move || location.pathname.get(), |_| task_counts());
    view! {
        <A
            href="/tasks"
            attr:class="flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium text-slate-300 hover:bg-slate-800 hover:text-white aria-[current=page]:bg-slate-800 aria-[current=page]:text-white"
            attr:title="Tasks"
        >
            <span class="w-5 text-center" aria-hidden="true">"✓"</span>
            <span class:hidden=move || collapsed.get()>"Tasks"</span>
            <Transition fallback=|| ()>
                {move || counts.get().and_then(|r| r.ok()).filter(|(open, _)| *open > 0).map(|(open, overdue)| view! {
                    <span class={if overdue > 0 { "ml-auto rounded-full bg-red-500 px-2 text-xs font-semibold text-white" } else { "ml-auto rounded-full bg-slate-600 px-2 text-xs font-semibold text-white" }}
                        data-testid="task-count" title=format!("{open} open tasks of yours, {overdue} overdue")>{open}</span>
                })}
            </Transition>
        </A>
    }
}

#[component]
pub fn AppShell() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    provide_context(UserResource(user));
    let collapsed = RwSignal::new(false);
    let logout = ServerAction::<Logout>::new();

    view! {
        <div class="flex min-h-screen">
            <aside
                data-testid="sidebar"
                data-collapsed=move || collapsed.get().to_string()
                class=move || {
                    format!(
                        "sticky top-0 flex h-screen shrink-0 flex-col bg-slate-900 text-slate-100 transition-all {}",
                        if collapsed.get() { "w-16" } else { "w-60" },
                    )
                }
            >
                <div class="flex items-center justify-between px-3 py-4">
                    <a href="/" class="flex items-center gap-2 px-1 font-semibold text-white">
                        <span class="grid h-7 w-7 place-items-center rounded-md bg-indigo-500 text-sm">"V"</span>
                        <span class:hidden=move || collapsed.get()>"Virtual CSM"</span>
                    </a>
                    <button
                        type="button"
                        data-testid="sidebar-toggle"
                        aria-label=move || if collapsed.get() { "Expand sidebar" } else { "Collapse sidebar" }
                        class="rounded p-1 text-slate-400 hover:bg-slate-800 hover:text-white"
                        on:click=move |_| collapsed.update(|c| *c = !*c)
                    >
                        {move || if collapsed.get() { "»" } else { "«" }}
                    </button>
                </div>
                <nav class="flex-1 space-y-1 px-2" aria-label="Main">
                    <NavItem href="/" label="Dashboard" icon="▦" collapsed exact=true/>
                    <NavItem href="/customers" label="Customers" icon="◎" collapsed/>
                    <TasksNav collapsed/>
                    <AlertsNav collapsed/>
                    <NavItem href="/health/scorecard" label="Scorecard" icon="♥" collapsed/>
                    <NavItem href="/health/model" label="Churn model" icon="◔" collapsed/>
                    <NavItem href="/expansion" label="Expansion" icon="↗" collapsed/>
                    <NavItem href="/playbooks" label="Playbooks" icon="▶" collapsed/>
                    <Transition fallback=|| ()>
                        {move || {
                            user.get()
                                .and_then(|r| r.ok())
                                .flatten()
                                .filter(|u| u.role == Role::Admin)
                                .map(|_| view! {
                                    <NavItem href="/integrations" label="Integrations" icon="⇄" collapsed/>
                                    <NavItem href="/users" label="Users" icon="☺" collapsed/>
                                    <NavItem href="/jobs" label="Jobs" icon="⚙" collapsed/>
                                    <NavItem href="/outbox" label="Outbox" icon="✉" collapsed/>
                                })
                        }}
                    </Transition>
                </nav>
                <div class="border-t border-slate-800 p-3">
                    <Transition fallback=|| ()>
                        {move || {
                            user.get().and_then(|r| r.ok()).flatten().map(|u| {
                                view! {
                                    <a href="/account" class="mb-2 block min-w-0 rounded-lg px-1 hover:bg-slate-800" class:hidden=move || collapsed.get() data-testid="current-user" title="Your account">
                                        <p class="truncate text-sm font-medium text-white">{u.name.clone()}</p>
                                        <p class="truncate text-xs text-slate-400">{format!("{} · {}", u.email, u.role.label())}</p>
                                    </a>
                                }
                            })
                        }}
                    </Transition>
                    <ActionForm action=logout>
                        <button type="submit" class="w-full rounded-lg px-3 py-1.5 text-left text-sm text-slate-300 hover:bg-slate-800 hover:text-white" title="Sign out">
                            <span aria-hidden="true">"⎋ "</span>
                            <span class:hidden=move || collapsed.get()>"Sign out"</span>
                        </button>
                    </ActionForm>
                </div>
            </aside>
            <main class="min-w-0 flex-1 px-8 py-8">
                <div class="mx-auto max-w-7xl">
                    <Outlet/>
                </div>
            </main>
        </div>
    }
}
