//! Delivering one-time login codes: a pluggable backend.
//!
//! - `Gateways`: e-mail contacts through SMTP (lettre: a local relay in plain SMTP, or a provider
//!   with STARTTLS or implicit TLS and authentication), phone contacts through an SMS gateway's
//!   HTTPS JSON API (the kind Korean SMS providers offer: `POST` `{from, to, text}` with a bearer
//!   token). A contact whose kind has no backend is refused with a clear error.
//! - `Outbox`: appends `{"to", "code"}` lines to an owner-only file in the data directory — codes
//!   and contacts in clear, so only for demos and test deployments (`hanpyo serve --dev-outbox`).
//! - `Disabled`: a real server without a backend configured sends nothing (and says so).
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::{SmtpTransport, Transport};

/// Where codes go.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// No backend: login codes cannot be sent (logins answer `no-delivery`).
    Disabled,
    /// Lines appended to a file (demos and test deployments only: codes and contacts in clear).
    Outbox(PathBuf),
    /// Real gateways, by the kind of contact.
    Gateways {
        /// E-mail contacts.
        email: Option<Arc<Email>>,
        /// Phone contacts.
        sms: Option<Arc<Sms>>,
    },
}

/// E-mail through SMTP.
pub struct Email {
    transport: SmtpTransport,
    from: Mailbox,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Email {
    /// A plain-SMTP relay the commission runs beside the server (it handles TLS onwards).
    pub fn relay(relay: std::net::SocketAddr, from: &str) -> std::io::Result<Self> {
        let transport = SmtpTransport::builder_dangerous(relay.ip().to_string())
            .port(relay.port())
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Self {
            transport,
            from: mailbox(from)?,
        })
    }

    /// A provider by URL: `smtps://user:password@host:465` (implicit TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), certificates checked against the
    /// web PKI roots.
    pub fn url(url: &str, from: &str) -> std::io::Result<Self> {
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| std::io::Error::other(format!("SMTP URL: {e}")))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Self {
            transport,
            from: mailbox(from)?,
        })
    }

    fn send(&self, to: &str, code: &str) -> std::io::Result<()> {
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(mailbox(to)?)
            .subject("한표 로그인 코드 / Hanpyo login code")
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    // UTF-8 as it is (relays speak 8BITMIME): our lines are short and end in CRLF,
                    // which is all 8bit requires.
                    .body(Body::dangerous_pre_encoded(
                        message_text(code).into_bytes(),
                        ContentTransferEncoding::EightBit,
                    )),
            )
            .map_err(|e| std::io::Error::other(format!("e-mail: {e}")))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| std::io::Error::other(format!("SMTP: {e}")))
    }
}

/// An SMS gateway's HTTPS JSON API.
#[derive(Debug)]
pub struct Sms {
    url: String,
    token: String,
    sender: String,
    agent: ureq::Agent,
}

impl Sms {
    /// `POST url` with `Authorization: Bearer token` and `{"from": sender, "to": digits, "text"}`;
    /// any 2xx is success.
    pub fn new(url: &str, token: &str, sender: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self {
            url: url.to_string(),
            token: token.trim().to_string(),
            sender: sender.to_string(),
            agent,
        }
    }

    fn send(&self, to: &str, code: &str) -> std::io::Result<()> {
        let digits: String = to.chars().filter(char::is_ascii_digit).collect();
        let body = serde_json::json!({
            "from": self.sender,
            "to": digits,
            "text": format!("[한표] 인증번호 {code} (10분 유효) / Hanpyo login code {code}"),
        });
        let resp = self
            .agent
            .post(&self.url)
            .header("authorization", format!("Bearer {}", self.token))
            .send_json(&body)
            .map_err(|e| std::io::Error::other(format!("SMS gateway: {e}")))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "SMS gateway answered {}",
                resp.status()
            )))
        }
    }
}

fn mailbox(a: &str) -> std::io::Result<Mailbox> {
    a.parse()
        .map_err(|_| std::io::Error::other(format!("not an e-mail address: {a:?}")))
}

fn message_text(code: &str) -> String {
    format!(
        "한표 투표 로그인 코드: {code}\r\n10분 동안 유효합니다. 요청하지 않았다면 무시하세요.\r\n\r\n\
         Your Hanpyo voting login code: {code}\r\nIt is valid for 10 minutes. If you did not ask for it, ignore this message.\r\n"
    )
}

impl Delivery {
    /// Sends `code` to `to` (an e-mail address or a phone number).
    pub fn send(&self, to: &str, code: &str) -> std::io::Result<()> {
        match self {
            Delivery::Disabled => Err(std::io::Error::other("no delivery backend configured")),
            Delivery::Outbox(path) => {
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(path)?;
                // One write per line: concurrent deliveries append whole lines (O_APPEND).
                let line = format!("{}\n", serde_json::json!({ "to": to, "code": code }));
                f.write_all(line.as_bytes())?;
                f.sync_all()
            }
            Delivery::Gateways { email, sms } => {
                if to.contains('@') {
                    email
                        .as_ref()
                        .ok_or_else(|| std::io::Error::other("no e-mail backend configured"))?
                        .send(to, code)
                } else {
                    sms.as_ref()
                        .ok_or_else(|| std::io::Error::other("no SMS gateway configured"))?
                        .send(to, code)
                }
            }
        }
    }
}
