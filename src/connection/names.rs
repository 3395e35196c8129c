//! The names a connection request carries, in one block.

/// Address, path, Host, Origin and the subprotocols offered, one after the
/// other in one allocation: a connection keeps them for messages,
/// redirects and reconnects, and five strings would cost five blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Names {
    text: Box<str>,
    /// Where each name ends in `text`.
    ends: [u32; 5],
    /// Origin (bit 0) and the subprotocols (bit 1) were given.
    given: u8,
}

const ADDRESS: usize = 0;
const PATH: usize = 1;
const HOST: usize = 2;
const ORIGIN: usize = 3;
const PROTOCOL: usize = 4;

impl Names {
    pub(crate) fn new(
        address: &str,
        path: &str,
        host: &str,
        origin: Option<&str>,
        protocol: Option<&str>,
    ) -> Names {
        let parts = [
            address,
            path,
            host,
            origin.unwrap_or(""),
            protocol.unwrap_or(""),
        ];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 5];
        for (end, part) in ends.iter_mut().zip(parts) {
            text.push_str(part);
            *end = u32::try_from(text.len()).expect("connection names under 4 GiB");
        }
        Names {
            text: text.into_boxed_str(),
            ends,
            given: u8::from(origin.is_some()) | u8::from(protocol.is_some()) << 1,
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub(crate) fn address(&self) -> &str {
        self.part(ADDRESS)
    }

    pub(crate) fn path(&self) -> &str {
        self.part(PATH)
    }

    /// The Host header.
    pub(crate) fn host(&self) -> &str {
        self.part(HOST)
    }

    pub(crate) fn origin(&self) -> Option<&str> {
        (self.given & 1 != 0).then(|| self.part(ORIGIN))
    }

    /// Sent verbatim as Sec-WebSocket-Protocol.
    pub(crate) fn protocol(&self) -> Option<&str> {
        (self.given & 2 != 0).then(|| self.part(PROTOCOL))
    }

    /// The same names with some replaced.
    pub(crate) fn with(&self, address: Option<&str>, path: &str, host: &str) -> Names {
        Names::new(
            address.unwrap_or(self.address()),
            path,
            host,
            self.origin(),
            self.protocol(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_comes_back_as_given() {
        let n = Names::new("127.0.0.1", "/chat?x=1", "example.com", Some(""), None);
        assert_eq!(n.address(), "127.0.0.1");
        assert_eq!(n.path(), "/chat?x=1");
        assert_eq!(n.host(), "example.com");
        assert_eq!(n.origin(), Some(""), "an empty Origin is still one");
        assert_eq!(n.protocol(), None);
        let m = n.with(Some("b.example"), "/", "b.example:8080");
        assert_eq!(
            (m.address(), m.path(), m.host(), m.origin(), m.protocol()),
            ("b.example", "/", "b.example:8080", Some(""), None)
        );
        let p = Names::new("", "", "", None, Some("chat, superchat"));
        assert_eq!(p.protocol(), Some("chat, superchat"));
        assert_eq!(p.address(), "");
    }
}
