//! Delivering one-time login codes: a pluggable backend.
//!
//! - `Outbox`: appends `{"to", "code"}` lines to an owner-only file in the data directory — codes
//!   and contacts in clear, so only for demos and test deployments (`hanpyo serve --dev-outbox`).
//! - `Disabled`: a real server without a backend configured sends nothing (and says so).
//! - `Smtp`: sends an e-mail through a mail relay (plain SMTP to a relay the commission runs, e.g.
//!   on localhost, which handles TLS onwards). Phone contacts need an SMS gateway: with SMTP alone
//!   they are refused with a clear error.
use std::io::{BufRead, BufReader, Write};

use base64::Engine;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// Where codes go.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// No backend: login codes cannot be sent (logins answer `no-delivery`).
    Disabled,
    /// Lines appended to a file (demos and test deployments only: codes and contacts in clear).
    Outbox(PathBuf),
    /// E-mail through an SMTP relay.
    Smtp {
        /// The relay.
        relay: SocketAddr,
        /// The sender address.
        from: String,
    },
}

fn smtp_line(r: &mut BufReader<TcpStream>, want: u16) -> std::io::Result<()> {
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("SMTP relay closed the connection"));
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if code / 100 != want / 100 {
            return Err(std::io::Error::other(format!(
                "SMTP relay answered {}",
                line.trim_end()
            )));
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

fn clean_address(a: &str) -> Option<&str> {
    let ok = a.contains('@')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"\\,;".contains(c));
    ok.then_some(a)
}

impl Delivery {
    /// Sends `code` to `to`.
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
            Delivery::Smtp { relay, from } => {
                let to = clean_address(to).ok_or_else(|| {
                    std::io::Error::other(
                        "this contact is not an e-mail address and no SMS gateway is configured",
                    )
                })?;
                let from = clean_address(from)
                    .ok_or_else(|| std::io::Error::other("bad sender address"))?;
                let stream = TcpStream::connect_timeout(relay, Duration::from_secs(10))?;
                stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                stream.set_write_timeout(Some(Duration::from_secs(10)))?;
                let mut w = stream.try_clone()?;
                let mut r = BufReader::new(stream);
                smtp_line(&mut r, 220)?;
                write!(w, "EHLO hanpyo\r\n")?;
                smtp_line(&mut r, 250)?;
                write!(w, "MAIL FROM:<{from}>\r\n")?;
                smtp_line(&mut r, 250)?;
                write!(w, "RCPT TO:<{to}>\r\n")?;
                smtp_line(&mut r, 250)?;
                write!(w, "DATA\r\n")?;
                smtp_line(&mut r, 354)?;
                let subject = base64::engine::general_purpose::STANDARD
                    .encode("한표 로그인 코드 / Hanpyo login code");
                let body = format!(
                    "한표 투표 로그인 코드: {code}\r\n10분 동안 유효합니다. 요청하지 않았다면 무시하세요.\r\n\r\n\
                     Your Hanpyo voting login code: {code}\r\nIt is valid for 10 minutes. If you did not ask for it, ignore this message.\r\n"
                );
                write!(
                    w,
                    "From: <{from}>\r\nTo: <{to}>\r\nSubject: =?UTF-8?B?{subject}?=\r\nMIME-Version: 1.0\r\n\
                     Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}.\r\n"
                )?;
                smtp_line(&mut r, 250)?;
                write!(w, "QUIT\r\n")?;
                Ok(())
            }
        }
    }
}
