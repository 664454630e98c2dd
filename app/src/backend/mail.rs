//! Outgoing e-mail (alert notifications) over SMTP with lettre. Configured by
//! `VCSM_SMTP_URL` (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
//! `smtps://host:465`) and `VCSM_MAIL_FROM`.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::upstream::UpstreamError;

/// The relay as its failures name it.
const SYSTEM: &str = "the mail server";

/// An SMTP relay and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// A playbook's e-mail, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// `<outbox-42@host>`: the same on every attempt.
    pub message_id: String,
    /// One-click unsubscribe (none for operational mail).
    pub unsubscribe_url: Option<String>,
}

/// The sender when `VCSM_MAIL_FROM` is not set.
pub const DEFAULT_FROM: &str = "Virtual CSM <alerts@localhost>";

impl Mailer {
    /// # Errors
    /// A message naming the setting that is wrong.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|e| {
            format!("VCSM_MAIL_FROM is not an address such as \"Name <a@b.com>\": {e}")
        })?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("VCSM_SMTP_URL is not an SMTP URL such as smtp://host:25: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Self { transport, from })
    }

    /// Sends a playbook's message: plain text with an HTML alternative when there is one,
    /// a Message-ID fixed per outbox row (a message re-sent after a crash is the same
    /// message to the receiving side), and for marketing mail the one-click unsubscribe
    /// headers of RFC 8058.
    ///
    /// # Errors
    /// As [`Mailer::send`].
    pub async fn send_mail(&self, mail: &OutgoingMail) -> Result<(), UpstreamError> {
        let to: Mailbox = mail.to.parse().map_err(|e| {
            UpstreamError::other(
                SYSTEM,
                None,
                format!("{} is not an e-mail address: {e}", mail.to),
            )
        })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id.clone()));
        if let Some(url) = &mail.unsubscribe_url {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ));
        }
        let built = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.text.clone()),
            ),
        };
        let message = built.map_err(|e| {
            UpstreamError::other(SYSTEM, None, format!("the message could not be built: {e}"))
        })?;
        self.transmit(message).await
    }

    /// Hands a built message to the relay: its refusal carries the reply code (550
    /// mailbox unavailable…) and its words; no answer is "unreachable".
    async fn transmit(&self, message: Message) -> Result<(), UpstreamError> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| match e.status() {
                Some(code) => UpstreamError::other(
                    SYSTEM,
                    code.to_string().parse().ok(),
                    "the mail server refused the message",
                )
                .with_excerpt(&e.to_string()),
                None => UpstreamError::unreachable(SYSTEM, e),
            })
    }

    /// Sends a plain-text message to one recipient.
    ///
    /// # Errors
    /// For the delivery record: a bad address or a message that can't be built (no
    /// status: the relay wasn't called), the relay unreachable, or its refusal with its
    /// reply code.
    pub async fn send(&self, to: &str, subject: &str, text: &str) -> Result<(), UpstreamError> {
        let to: Mailbox = to.parse().map_err(|e| {
            UpstreamError::other(SYSTEM, None, format!("{to} is not an e-mail address: {e}"))
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_string())
            .map_err(|e| {
                UpstreamError::other(SYSTEM, None, format!("the message could not be built: {e}"))
            })?;
        self.transmit(message).await
    }
}
