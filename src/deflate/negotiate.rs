//! Negotiation of permessage-deflate (RFC 7692 section 7): the client's
//! offer, as libwebsockets' `client_offer` strings write it, the
//! `Sec-WebSocket-Extensions` value sent for it, and the check of the
//! server's answer, whose result is the parameters both sides use.

use std::fmt;

use crate::error::{ExtensionError, ExtensionProblem};

/// The extension's name on the wire.
pub const NAME: &str = "permessage-deflate";

/// The offer libwebsockets' examples make, and so most ported programs.
pub const LWS_OFFER: &str =
    "permessage-deflate; client_no_context_takeover; client_max_window_bits";

/// `client_max_window_bits` in an offer: absent, present without a value
/// (the server may pick any size), or with a largest size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientWindow {
    #[default]
    NotOffered,
    Any,
    Max(u8),
}

/// What the client offers (one permessage-deflate offer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// Asks the server to start each message from an empty window.
    pub server_no_context_takeover: bool,
    /// Tells the server the client starts each message from an empty window
    /// (and so it does, whatever the answer).
    pub client_no_context_takeover: bool,
    /// Asks the server to compress with a window of at most 2^n bytes.
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: ClientWindow,
}

/// What both sides use once the server accepted the offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// The server starts each message from an empty window: receiving keeps
    /// no state between messages.
    pub server_no_context_takeover: bool,
    /// The client starts each message from an empty window: sending keeps no
    /// state between messages.
    pub client_no_context_takeover: bool,
    /// 8..=15: the server's window. Inflating always uses 2^15 bytes, which
    /// reads any smaller window.
    pub server_max_window_bits: u8,
    /// 8..=15: the largest window the client may compress with. At 8 the
    /// client sends its messages uncompressed (zlib cannot deflate with a
    /// 256-byte window; libwebsockets uses 9, which a server that holds the
    /// client to 8 fails to inflate), as RFC 7692 section 6 allows.
    pub client_max_window_bits: u8,
}

/// What was agreed, for the log: `server_no_context_takeover;
/// server_max_window_bits=15; client_max_window_bits=15`.
impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.server_no_context_takeover {
            f.write_str("server_no_context_takeover; ")?;
        }
        if self.client_no_context_takeover {
            f.write_str("client_no_context_takeover; ")?;
        }
        write!(
            f,
            "server_max_window_bits={}; client_max_window_bits={}",
            self.server_max_window_bits, self.client_max_window_bits
        )?;
        if self.client_max_window_bits < 9 {
            f.write_str(", so sending uncompressed")?;
        }
        Ok(())
    }
}

/// Why an offer string (an extension table's `client_offer`) is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferError {
    pub offer: String,
    pub detail: String,
}

impl fmt::Display for OfferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permessage-deflate offer '{}' is not usable: {} (RFC 7692 section 7; libwebsockets' examples offer '{LWS_OFFER}')",
            self.offer, self.detail
        )
    }
}

impl Offer {
    /// libwebsockets' usual offer: [`LWS_OFFER`].
    pub fn lws_default() -> Offer {
        Offer {
            client_no_context_takeover: true,
            client_max_window_bits: ClientWindow::Any,
            ..Offer::default()
        }
    }

    /// Parses one permessage-deflate offer, e.g. [`LWS_OFFER`].
    pub fn parse(text: &str) -> Result<Offer, OfferError> {
        let err = |detail: String| OfferError {
            offer: text.to_string(),
            detail,
        };
        let exts = parse_list(text).map_err(err)?;
        let ext = match exts.as_slice() {
            [one] => one,
            [] => return Err(err("it names no extension".into())),
            _ => return Err(err("it holds more than one offer".into())),
        };
        if ext.name != NAME {
            return Err(err(format!(
                "it names '{}', and only {NAME} is implemented",
                ext.name
            )));
        }
        let p = read_params(&ext.params, true).map_err(err)?;
        Ok(Offer {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover,
            server_max_window_bits: p.server_max_window_bits,
            client_max_window_bits: p.client_max_window_bits,
        })
    }
}

/// The `Sec-WebSocket-Extensions` value of the offer.
impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if let Some(n) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={n}")?;
        }
        match self.client_max_window_bits {
            ClientWindow::NotOffered => Ok(()),
            ClientWindow::Any => f.write_str("; client_max_window_bits"),
            ClientWindow::Max(n) => write!(f, "; client_max_window_bits={n}"),
        }
    }
}

/// Checks the server's `Sec-WebSocket-Extensions` answer (`values`: each
/// header line's value, usually one) against what was offered (None: no
/// extension was offered). Ok(None): the server accepted no extension, the
/// connection runs uncompressed.
pub fn check_response(
    offer: Option<&Offer>,
    values: &[&str],
) -> Result<Option<Params>, ExtensionError> {
    let sent = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    if sent.is_empty() {
        return Ok(None);
    }
    let fail = |problem: ExtensionProblem| ExtensionError {
        problem,
        sent: sent.clone(),
        offered: offer.map(|o| o.to_string()),
    };
    let exts = parse_list(&sent).map_err(|d| fail(ExtensionProblem::BadParameters(d)))?;
    let mut accepted = None;
    for ext in &exts {
        let Some(offer) = offer.filter(|_| ext.name == NAME) else {
            return Err(fail(ExtensionProblem::NotOffered(ext.name.clone())));
        };
        if accepted.is_some() {
            return Err(fail(ExtensionProblem::Repeated));
        }
        let answer = read_params(&ext.params, false)
            .map_err(|d| fail(ExtensionProblem::BadParameters(d)))?;
        let params = settle(offer, &answer).map_err(|d| fail(ExtensionProblem::Rejected(d)))?;
        accepted = Some(params);
    }
    Ok(accepted)
}

/// The parameters of one offer or answer, each checked on its own.
struct Raw {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: ClientWindow,
}

/// RFC 7692 7.1: the answer against the offer.
fn settle(offer: &Offer, answer: &Raw) -> Result<Params, String> {
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err("server_no_context_takeover was asked for and is missing".into());
    }
    let server_max_window_bits = match (offer.server_max_window_bits, answer.server_max_window_bits)
    {
        (Some(asked), None) => {
            return Err(format!(
                "server_max_window_bits={asked} was asked for and is missing"
            ))
        }
        (Some(asked), Some(got)) if got > asked => {
            return Err(format!(
                "server_max_window_bits={got} is larger than the {asked} asked for"
            ))
        }
        (_, Some(got)) => got,
        (None, None) => 15,
    };
    let client_max_window_bits = match (offer.client_max_window_bits, answer.client_max_window_bits)
    {
        (ClientWindow::NotOffered, ClientWindow::Max(got)) => {
            return Err(format!(
                "client_max_window_bits={got}, which the client did not offer"
            ))
        }
        (ClientWindow::Max(most), ClientWindow::Max(got)) if got > most => {
            return Err(format!(
                "client_max_window_bits={got} is larger than the {most} offered"
            ))
        }
        (_, ClientWindow::Max(got)) => got,
        (ClientWindow::Max(most), _) => most,
        _ => 15,
    };
    Ok(Params {
        server_no_context_takeover: answer.server_no_context_takeover,
        // Offered, the client keeps its word whatever the answer (7.1.1.2).
        client_no_context_takeover: offer.client_no_context_takeover
            || answer.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}

/// Reads the four RFC 7692 parameters; `offer`: `client_max_window_bits`
/// may come without a value (only an offer may say that).
fn read_params(params: &[(String, Option<String>)], offer: bool) -> Result<Raw, String> {
    let mut raw = Raw {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: None,
        client_max_window_bits: ClientWindow::NotOffered,
    };
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in params {
        if seen.contains(&name.as_str()) {
            return Err(format!("parameter '{name}' appears twice"));
        }
        seen.push(name);
        let value = value.as_deref();
        match name.as_str() {
            "server_no_context_takeover" | "client_no_context_takeover" => {
                if let Some(v) = value {
                    return Err(format!("{name} takes no value, and has '{v}'"));
                }
                if name.starts_with("server") {
                    raw.server_no_context_takeover = true;
                } else {
                    raw.client_no_context_takeover = true;
                }
            }
            "server_max_window_bits" => {
                raw.server_max_window_bits = Some(window_bits(name, value)?);
            }
            "client_max_window_bits" => {
                raw.client_max_window_bits = match value {
                    None if offer => ClientWindow::Any,
                    _ => ClientWindow::Max(window_bits(name, value)?),
                };
            }
            _ => return Err(format!("unknown parameter '{name}'")),
        }
    }
    Ok(raw)
}

/// A window size: 8 to 15, in decimal without leading zeros (RFC 7692 7.1.2).
fn window_bits(name: &str, value: Option<&str>) -> Result<u8, String> {
    let Some(v) = value else {
        return Err(format!("{name} needs a value from 8 to 15"));
    };
    match v {
        "8" | "9" | "10" | "11" | "12" | "13" | "14" | "15" => Ok(v.parse().expect("a number")),
        _ => Err(format!("{name}={v} is not a number from 8 to 15")),
    }
}

/// One extension of a `Sec-WebSocket-Extensions` list, its parameter values
/// unquoted.
struct Extension {
    name: String,
    params: Vec<(String, Option<String>)>,
}

/// Parses `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )`
/// (RFC 6455 9.1; empty list elements are skipped, as RFC 7230 7 asks).
fn parse_list(text: &str) -> Result<Vec<Extension>, String> {
    let mut p = Scanner {
        s: text.as_bytes(),
        at: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.eat(b',') {
            continue;
        }
        if p.done() {
            return Ok(out);
        }
        let name = p.token("an extension name")?;
        let mut params = Vec::new();
        loop {
            p.skip_ws();
            if !p.eat(b';') {
                break;
            }
            p.skip_ws();
            let pname = p.token("a parameter name")?;
            p.skip_ws();
            let value = if p.eat(b'=') {
                p.skip_ws();
                Some(if p.peek() == Some(b'"') {
                    p.quoted()?
                } else {
                    p.token("a parameter value")?
                })
            } else {
                None
            };
            params.push((pname, value));
        }
        out.push(Extension { name, params });
        p.skip_ws();
        if !p.done() && !p.eat(b',') {
            return Err(p.unexpected("',' or ';'"));
        }
    }
}

struct Scanner<'a> {
    s: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn done(&self) -> bool {
        self.at >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.at += usize::from(hit);
        hit
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            Some(c) => format!(
                "expected {wanted} at byte {} and found '{}'",
                self.at,
                char::from(c).escape_default()
            ),
            None => format!("expected {wanted} at the end"),
        }
    }

    fn token(&mut self, what: &str) -> Result<String, String> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.unexpected(what));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    /// A quoted-string, unescaped; its content must be a token (RFC 6455 9.1).
    fn quoted(&mut self) -> Result<String, String> {
        self.at += 1; // the opening quote
        let mut v = Vec::new();
        loop {
            match self.peek() {
                None => return Err("a quoted value is not closed".into()),
                Some(b'"') => break,
                Some(b'\\') if self.at + 1 < self.s.len() => {
                    v.push(self.s[self.at + 1]);
                    self.at += 2;
                }
                Some(c) => {
                    v.push(c);
                    self.at += 1;
                }
            }
        }
        self.at += 1;
        if v.is_empty() || !v.iter().copied().all(is_tchar) {
            return Err(format!(
                "quoted value \"{}\" is not a token",
                String::from_utf8_lossy(&v)
            ));
        }
        Ok(String::from_utf8_lossy(&v).into_owned())
    }
}

/// RFC 7230 3.2.6 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

#[cfg(test)]
mod tests;
