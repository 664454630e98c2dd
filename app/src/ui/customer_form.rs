//! Creating and editing a customer. Every field's problem is shown beside it.

use leptos::prelude::*;
use vcsm::auth::Role;
use vcsm::customers::{BillingPeriod, CustomerInput, Stage, Tier};
use vcsm::ValidationErrors;

use super::components::{user_can, ErrorNotice, FieldError, Loading, PageHeader};
use crate::api::customers::{customer_form, owner_options, CreateCustomer, UpdateCustomer};
use crate::dto::OwnerOption;
use crate::error::AppError;

/// The form's fields, named `input[field]` to match the server functions' argument.
#[component]
fn CustomerFields(
    initial: CustomerInput,
    owners: Vec<OwnerOption>,
    errors: Signal<Option<ValidationErrors>>,
) -> impl IntoView {
    let err = move |field: &'static str| {
        Signal::derive(move || {
            errors
                .get()
                .and_then(|e| e.for_field(field).map(str::to_string))
        })
    };
    let invalid = move |field: &'static str| {
        move || {
            errors
                .get()
                .is_some_and(|e| e.for_field(field).is_some())
                .to_string()
        }
    };
    let text = move |field: &'static str,
                     label: &'static str,
                     value: String,
                     kind: &'static str,
                     hint: &'static str| {
        view! {
            <div>
                <label class="label" for=field>{label}</label>
                <input class="input" id=field name=format!("input[{field}]") type=kind value=value placeholder=hint aria-invalid=invalid(field)/>
                <FieldError message=err(field)/>
            </div>
        }
    };
    let owner_known = owners.iter().any(|o| o.email == initial.owner_email);
    let initial_owner = initial.owner_email.clone();
    view! {
        <div class="grid gap-5 md:grid-cols-2">
            <div class="md:col-span-2">
                <label class="label" for="name">"Name "<span class="text-red-600">"*"</span></label>
                <input class="input" id="name" name="input[name]" value=initial.name required maxlength="200" aria-invalid=invalid("name")/>
                <FieldError message=err("name")/>
            </div>
            {text("external_id", "External id", initial.external_id, "text", "e.g. acct_123 from your billing system")}
            {text("domain", "Domain", initial.domain, "text", "acme.com")}
            <div>
                <label class="label" for="tier">"Tier"</label>
                <select class="input" id="tier" name="input[tier]" aria-invalid=invalid("tier")>
                    {Tier::ALL.iter().map(|t| view! { <option value=t.as_str() selected=Tier::parse(&initial.tier) == Some(*t)>{t.label()}</option> }).collect_view()}
                </select>
                <FieldError message=err("tier")/>
            </div>
            <div>
                <label class="label" for="stage">"Lifecycle stage"</label>
                <select class="input" id="stage" name="input[stage]" aria-invalid=invalid("stage")>
                    {Stage::ALL.iter().map(|s| view! { <option value=s.as_str() selected=Stage::parse(&initial.stage) == Some(*s)>{s.label()}</option> }).collect_view()}
                </select>
                <FieldError message=err("stage")/>
            </div>
            {text("churned_on", "Churned on", initial.churned_on, "date", "")}
            {text("plan", "Plan", initial.plan, "text", "Business")}
            {text("mrr", "MRR", initial.mrr, "text", "1250.00")}
            {text("currency", "Currency", initial.currency, "text", "USD")}
            {text("seats", "Seats", initial.seats, "number", "25")}
            {text("contract_start", "Contract start", initial.contract_start, "date", "")}
            {text("renewal_date", "Renewal date", initial.renewal_date, "date", "")}
            <div>
                <label class="label" for="billing_period">"Billing period"</label>
                <select class="input" id="billing_period" name="input[billing_period]" aria-invalid=invalid("billing_period")>
                    <option value="">"Unknown"</option>
                    {BillingPeriod::ALL.iter().map(|p| view! { <option value=p.as_str() selected=BillingPeriod::parse_loose(&initial.billing_period) == Some(*p)>{p.label()}</option> }).collect_view()}
                </select>
                <p class="mt-1 text-xs text-slate-500">"Renewals follow it: a monthly subscriber can leave every month."</p>
                <FieldError message=err("billing_period")/>
            </div>
            <div>
                <label class="label" for="owner_email">"Owner"</label>
                <select class="input" id="owner_email" name="input[owner_email]" aria-invalid=invalid("owner_email")>
                    <option value="">"No owner"</option>
                    {(!owner_known && !initial_owner.is_empty()).then(|| view! { <option value=initial_owner.clone() selected=true>{initial_owner.clone()}</option> })}
                    {owners.into_iter().map(|o| {
                        let selected = o.email == initial.owner_email;
                        view! { <option value=o.email.clone() selected=selected>{format!("{} ({})", o.name, o.email)}</option> }
                    }).collect_view()}
                </select>
                <FieldError message=err("owner_email")/>
            </div>
            <div class="md:col-span-2">
                {text("tags", "Tags", initial.tags, "text", "comma-separated, e.g. EU, beta")}
            </div>
            <div class="md:col-span-2">
                <label class="label" for="attributes">"Attributes"</label>
                <textarea class="input font-mono text-sm" id="attributes" name="input[attributes]" rows="3" placeholder="channel: partner\ncountry: DE\nindustry: Retail" aria-invalid=invalid("attributes")>{initial.attributes}</textarea>
                <p class="mt-1 text-xs text-slate-500">"One per line as name: value, such as the sales channel, country or industry."</p>
                <FieldError message=err("attributes")/>
            </div>
        </div>
    }
}

#[component]
fn FormFooter(
    pending: Memo<bool>,
    cancel: String,
    error: Signal<Option<AppError>>,
    has_field_errors: Signal<bool>,
) -> impl IntoView {
    view! {
        <Show when=move || has_field_errors.get()>
            <p role="alert" class="mt-5 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700" data-testid="form-error">"Please correct the highlighted fields."</p>
        </Show>
        {move || error.get().map(|e| view! { <div class="mt-5"><ErrorNotice error=e/></div> })}
        <div class="mt-6 flex justify-end gap-2 border-t border-slate-100 pt-5">
            <a href=cancel class="btn-secondary">"Cancel"</a>
            <button type="submit" class="btn-primary" disabled=move || pending.get() data-testid="save-customer">
                {move || if pending.get() { "Saving…" } else { "Save customer" }}
            </button>
        </div>
    }
}

fn forbidden_notice() -> AnyView {
    view! { <ErrorNotice error=AppError::Forbidden("Your role can read customers but not change them.".into())/> }.into_any()
}

#[component]
pub fn NewCustomerPage() -> impl IntoView {
    let action = ServerAction::<CreateCustomer>::new();
    let owners = Resource::new(|| (), |_| owner_options());
    let can_edit = user_can(Role::can_edit_customers);
    let errors = Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.field_errors().cloned())
    });
    let other = Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field_errors().is_none())
    });
    let has_field_errors = Signal::derive(move || errors.get().is_some());
    let initial = CustomerInput {
        tier: "small_business".into(),
        stage: "onboarding".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    view! {
        <PageHeader title="New customer".into()/>
        <Suspense fallback=Loading>
            {move || {
                let initial = initial.clone();
                owners.get().map(|o| match o {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(_) if !can_edit.get() => forbidden_notice(),
                    Ok(owners) => view! {
                        <ActionForm action attr:class="card p-6" attr:novalidate=true>
                            <CustomerFields initial owners errors/>
                            <FormFooter pending=action.pending() cancel="/customers".into() error=other has_field_errors/>
                        </ActionForm>
                    }.into_any(),
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn EditCustomerPage() -> impl IntoView {
    let id = super::customer_detail::id_param();
    let action = ServerAction::<UpdateCustomer>::new();
    let owners = Resource::new(|| (), |_| owner_options());
    let data = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Ok(id) => customer_form(id).await.map(|f| (id, f)),
                Err(e) => Err(e),
            }
        },
    );
    let errors = Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.field_errors().cloned())
    });
    let other = Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field_errors().is_none())
    });
    let has_field_errors = Signal::derive(move || errors.get().is_some());
    view! {
        <Suspense fallback=Loading>
            {move || {
                // Without the owner list the form still works (owner select shows the current one).
                let owners = owners.get().map(|r| r.unwrap_or_default());
                data.get().zip(owners).map(|(d, owners)| match d {
                    Err(AppError::Forbidden(_)) => view! { <PageHeader title="Edit customer".into()/> {forbidden_notice()} }.into_any(),
                    Err(e) => view! { <PageHeader title="Edit customer".into()/> <ErrorNotice error=e/> }.into_any(),
                    Ok((id, initial)) => view! {
                        <PageHeader title=format!("Edit {}", initial.name)/>
                        <ActionForm action attr:class="card p-6" attr:novalidate=true>
                            <input type="hidden" name="id" value=id.to_string()/>
                            <CustomerFields initial owners errors/>
                            <FormFooter pending=action.pending() cancel=format!("/customers/{id}") error=other has_field_errors/>
                        </ActionForm>
                    }.into_any(),
                })
            }}
        </Suspense>
    }
}
