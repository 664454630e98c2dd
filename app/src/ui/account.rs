//! The signed-in user's own account: who they are, and changing their password.

use leptos::prelude::*;

use super::components::{FieldError, PageHeader, UserResource};
use crate::api::users::ChangePassword;

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let err = move |field: &'static str| {
        Signal::derive(move || {
            change.value().get().and_then(|r| r.err()).and_then(|e| {
                e.field_errors()
                    .and_then(|v| v.for_field(field).map(str::to_string))
            })
        })
    };
    let other_error = move || {
        change
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field_errors().is_none())
            .map(|e| e.to_string())
    };
    let done = move || change.value().get().is_some_and(|r| r.is_ok());
    let me = use_context::<UserResource>();
    let who = move || {
        me.and_then(|r| r.0.get())
            .and_then(|r| r.ok())
            .flatten()
            .map(|u| format!("{} · {} · {}", u.name, u.email, u.role.label()))
    };
    view! {
        <PageHeader title="Your account".into() subtitle="Your sign-in and password.".into()/>
        <div class="card max-w-xl p-6">
            <Transition fallback=|| ()>
                <p class="mb-4 text-sm text-slate-600" data-testid="account-who">{who}</p>
            </Transition>
            <h2 class="mb-4 font-semibold">"Change your password"</h2>
            <ActionForm action=change attr:class="space-y-4" attr:novalidate=true attr:data-testid="password-form">
                <div>
                    <label class="label" for="a-current">"Current password"</label>
                    <input class="input" id="a-current" name="current_password" type="password" autocomplete="current-password"/>
                    <FieldError message=err("current_password")/>
                </div>
                <div>
                    <label class="label" for="a-new">"New password"</label>
                    <input class="input" id="a-new" name="new_password" type="password" autocomplete="new-password"/>
                    <p class="mt-1 text-xs text-slate-500">"At least 8 characters and hard to guess: a few unrelated words work well."</p>
                    <FieldError message=err("new_password")/>
                </div>
                <div>
                    <label class="label" for="a-confirm">"New password again"</label>
                    <input class="input" id="a-confirm" name="confirm_password" type="password" autocomplete="new-password"/>
                    <FieldError message=err("confirm_password")/>
                </div>
                <button type="submit" class="btn-primary" disabled=move || change.pending().get()>"Change password"</button>
                {move || other_error().map(|m| view! { <p class="text-sm text-red-700" role="alert">{m}</p> })}
                <Show when=done>
                    <p class="text-sm text-emerald-700" role="status" data-testid="password-changed">
                        "Password changed. Your other sessions have been signed out."
                    </p>
                </Show>
            </ActionForm>
        </div>
    }
}
