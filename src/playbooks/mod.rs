//! Playbooks: what a virtual CSM does on its own. A playbook is a versioned definition
//! ([`definition`]) — a trigger, entry and exit rules, a goal, and a tree of steps
//! (waits, branches, split tests, e-mails, tasks, Slack messages, field updates,
//! webhooks) — checked with every problem by path ([`validate`]). The engine's rules are
//! a pure state machine ([`machine`]): the step an enrollment is due to run, with what we
//! know of its customer ([`conditions::Subject`]) and the time, gives the side effect, the
//! reasons and the next step with its time. Waits in the customer's time zone and
//! durations are in [`timing`]; e-mail templates in [`templates`]; split tests' figures in [`stats`]; what people read about them (funnels, outcomes in words) in [`report`]; the ready library
//! in [`library`].

pub mod conditions;
pub mod definition;
pub mod library;
pub mod machine;
pub mod report;
pub mod sending;
pub mod stats;
pub mod templates;
pub mod timing;
#[cfg(feature = "server")]
pub mod unsubscribe;
pub mod validate;

pub use definition::{Playbook, Step, StepKind, Trigger};
