//! User administration (admins).

use leptos::prelude::*;
use vcsm::auth::Role;
use vcsm::timefmt::date;

use super::components::{ErrorNotice, FieldError, Loading, PageHeader, UserResource};
use crate::api::users::{list_users, CreateUser, SetUserActive};

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let toggle = ServerAction::<SetUserActive>::new();
    let users = Resource::new(
        move || (create.version().get(), toggle.version().get()),
        |_| list_users(),
    );
    let err = move |field: &'static str| {
        Signal::derive(move || {
            create.value().get().and_then(|r| r.err()).and_then(|e| {
                e.field_errors()
                    .and_then(|v| v.for_field(field).map(str::to_string))
            })
        })
    };
    let me = use_context::<UserResource>();
    let my_id = move || {
        me.and_then(|r| r.0.get())
            .and_then(|r| r.ok())
            .flatten()
            .map(|u| u.id)
    };
    let created = move || {
        create
            .value()
            .get()
            .and_then(|r| r.ok())
            .map(|u| format!("Created {} ({}).", u.email, u.role.label()))
    };
    view! {
        <PageHeader title="Users".into() subtitle="Who can sign in, and what they may do.".into()/>
        <Transition fallback=Loading>
            {move || users.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(list) => view! {
                    <div class="grid gap-6 lg:grid-cols-3">
                        <div class="card overflow-hidden lg:col-span-2">
                            <table class="min-w-full divide-y divide-slate-200" data-testid="users-table">
                                <thead class="bg-slate-50"><tr><th class="th">"Name"</th><th class="th">"Role"</th><th class="th">"Since"</th><th class="th">"Status"</th><th class="th"></th></tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {list.into_iter().map(|u| { let (id, active) = (u.id, u.active); view! {
                                        <tr>
                                            <td class="td"><p class="font-medium text-slate-900">{u.name.clone()}</p><p class="text-xs text-slate-500">{u.email.clone()}</p></td>
                                            <td class="td">{u.role.label()}</td>
                                            <td class="td whitespace-nowrap">{date(u.created_at.date_naive())}</td>
                                            <td class="td">{if u.active { "Active" } else { "Deactivated" }}</td>
                                            <td class="td text-right">
                                                <Show when=move || my_id() != Some(id) fallback=|| view! { <span class="text-xs text-slate-400">"you"</span> }>
                                                <ActionForm action=toggle>
                                                    <input type="hidden" name="id" value=id.to_string()/>
                                                    <input type="hidden" name="active" value=(!active).to_string()/>
                                                    <button type="submit" class="text-sm font-medium text-indigo-700 hover:underline">{if active { "Deactivate" } else { "Activate" }}</button>
                                                </ActionForm>
                                                </Show>
                                            </td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            {move || toggle.value().get().and_then(|r| r.err()).map(|e| view! { <div class="p-4"><ErrorNotice error=e/></div> })}
                        </div>
                        <div class="card p-6">
                            <h2 class="mb-4 font-semibold">"New user"</h2>
                            <ActionForm action=create attr:class="space-y-4" attr:novalidate=true>
                                <div><label class="label" for="u-email">"E-mail"</label><input class="input" id="u-email" name="email" type="email"/><FieldError message=err("email")/></div>
                                <div><label class="label" for="u-name">"Name"</label><input class="input" id="u-name" name="name"/><FieldError message=err("name")/></div>
                                <div>
                                    <label class="label" for="u-role">"Role"</label>
                                    <select class="input" id="u-role" name="role">
                                        {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == Role::Csm>{r.label()}</option> }).collect_view()}
                                    </select>
                                    <FieldError message=err("role")/>
                                </div>
                                <div><label class="label" for="u-password">"Initial password"</label><input class="input" id="u-password" name="password" type="password" autocomplete="new-password"/><FieldError message=err("password")/></div>
                                <button type="submit" class="btn-primary w-full justify-center" disabled=move || create.pending().get()>"Create user"</button>
                                {move || created().map(|m| view! { <p class="text-sm text-emerald-700" role="status">{m}</p> })}
                            </ActionForm>
                        </div>
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}
