//! Why a redirect of the upgrade request was not followed. Each message
//! starts with libwebsockets' wording for the same case.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectError {
    /// A 3xx the client follows, without a `Location` header.
    NoLocation { from: String, status: u16 },
    /// The `Location` cannot be used.
    BadLocation {
        from: String,
        location: String,
        why: String,
    },
    /// `CLIENT_HTTP_REDIRECT` returned non-zero.
    Vetoed {
        from: String,
        status: u16,
        location: String,
    },
    /// From wss:// to ws://.
    Downgrade { from: String, to: String },
    /// One more hop than the limit; `chain` holds every URL, the first
    /// request's included.
    TooMany { limit: usize, chain: Vec<String> },
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::NoLocation { from, status } => write!(
                f,
                "HS: Redirect code but no Location: {from} answered {status} without a Location header"
            ),
            RedirectError::BadLocation {
                from,
                location,
                why,
            } => write!(
                f,
                "HS: URI did not parse: {from} redirected to '{location}': {why}"
            ),
            RedirectError::Vetoed {
                from,
                status,
                location,
            } => write!(
                f,
                "HS: user code rejected redirect: CLIENT_HTTP_REDIRECT returned non-zero for the {status} from {from} to '{location}'"
            ),
            RedirectError::Downgrade { from, to } => write!(
                f,
                "HS: Redirect attempted SSL downgrade: {from} redirected to {to}; refusing to leave TLS (the server should redirect to wss://)"
            ),
            RedirectError::TooMany { limit, chain } => write!(
                f,
                "HS: Redirect failed: more than {limit} redirects: {} (does the server redirect in a loop?)",
                chain.join(" -> ")
            ),
        }
    }
}
