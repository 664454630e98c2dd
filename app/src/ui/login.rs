//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{demo_hint, Login};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_string());
    let hint = Resource::new(|| (), |_| demo_hint());
    let error = move || {
        login
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| match e.field_errors() {
                Some(v) => {
                    v.0.first()
                        .map(|f| f.message.clone())
                        .unwrap_or_else(|| e.to_string())
                }
                None => e.to_string(),
            })
    };

    view! {
        <Title text="Sign in"/>
        <div class="flex min-h-screen items-center justify-center bg-slate-100 px-4">
            <div class="w-full max-w-sm">
                <div class="mb-6 flex items-center justify-center gap-2">
                    <span class="grid h-9 w-9 place-items-center rounded-lg bg-indigo-600 font-semibold text-white">"V"</span>
                    <span class="text-xl font-semibold">"Virtual CSM"</span>
                </div>
                <div class="card p-6">
                    <h1 class="mb-4 text-lg font-semibold">"Sign in"</h1>
                    <ActionForm action=login attr:class="space-y-4">
                        <input type="hidden" name="next" value=next/>
                        <div>
                            <label class="label" for="email">"E-mail"</label>
                            <input class="input" id="email" name="email" type="email" autocomplete="username" required maxlength="254"/>
                        </div>
                        <div>
                            <label class="label" for="password">"Password"</label>
                            <input class="input" id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"/>
                        </div>
                        <Show when=move || error().is_some()>
                            <p role="alert" data-testid="login-error" class="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700">{error}</p>
                        </Show>
                        <button type="submit" class="btn-primary w-full justify-center" disabled=move || login.pending().get()>
                            {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </ActionForm>
                </div>
                <Suspense fallback=|| ()>
                    {move || hint.get().and_then(|r| r.ok()).flatten().map(|h| view! {
                        <p class="mt-4 rounded-lg border border-indigo-100 bg-indigo-50 px-3 py-2 text-center text-sm text-indigo-800" data-testid="demo-hint">{h}</p>
                    })}
                </Suspense>
            </div>
        </div>
    }
}
