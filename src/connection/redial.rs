//! What a connection keeps across restarts of its dial (a redirect
//! followed, a reconnect), and the reset that sends it back to its first
//! step with its handle, user data and per-session memory untouched.

use super::{Conn, ConnectRequest, Phase, RxInfo};
use crate::clock::Tick;
use crate::frame::Decoder;
use crate::redirect::Redirects;
use crate::stream::Stream;
use crate::target::Target;
use crate::timers::Kind;

/// Redirect and reconnect state, made when the first of either happens.
#[derive(Default)]
pub(crate) struct Restart {
    /// The redirects of the current attempt (None: none followed).
    pub(crate) redirects: Option<Redirects>,
    /// The request as the application made it, once a redirect changed
    /// it: a reconnect starts from there again.
    pub(crate) first: Option<ConnectRequest>,
    /// The try count the retry policy reads (reset once established).
    pub(crate) ctry: u16,
    /// Attempts since the connection was last established; 0 when it is
    /// not reconnecting.
    pub(crate) attempt: u16,
    /// The delay before the scheduled attempt, in ms.
    pub(crate) delay_ms: u32,
    /// Why it dropped, for RECONNECTING and RECONNECTED.
    pub(crate) cause: String,
    /// The application ended it: no more attempts.
    pub(crate) stopped: bool,
    /// Peer close codes after which no attempt is made.
    pub(crate) final_codes: Vec<u16>,
    /// The peer's Close of the current attempt: its code and reason.
    pub(crate) peer_close: Option<(u16, String)>,
    /// The counts of the attempts before this one (`ws_get_conn_stats`
    /// covers the connection's whole life, across redirects and
    /// reconnects).
    pub(crate) earlier: crate::stats::Counts,
}

/// `address:port` (`unix:/path`, `unix:@name`) of a request, for messages.
pub(crate) fn peer_name(req: &ConnectRequest) -> String {
    match Target::parse(req.address(), req.port) {
        Ok(t @ Target::Unix(_)) => t.to_string(),
        _ => format!("{}:{}", req.address(), req.port),
    }
}

impl Conn {
    /// Redirect and reconnect state, made on first use.
    pub(crate) fn restart(&mut self) -> &mut Restart {
        self.restart.get_or_insert_with(Default::default)
    }

    /// The peer sent a Close (code 1005 when it had none): kept for a
    /// reconnecting connection, whose next step depends on it.
    pub(crate) fn note_peer_close(&mut self, code: Option<u16>, reason: &[u8]) {
        if self.req.reconnect {
            let reason = String::from_utf8_lossy(reason).into_owned();
            self.restart().peer_close = Some((code.unwrap_or(1005), reason));
        }
    }

    /// The application closed it: no more attempts.
    pub(crate) fn stop_reconnecting(&mut self) {
        if self.req.reconnect {
            self.restart().stopped = true;
        }
    }

    /// Back to the first step (`Phase::New`) for `req`: everything of the
    /// previous attempt is dropped (queued frames, a message half sent or
    /// half received, the cross-thread outbox, its timers but the
    /// application's own) and the old socket is handed back for the caller
    /// to deregister.
    pub(crate) fn reset_for_redial(
        &mut self,
        req: ConnectRequest,
        max_message: u64,
    ) -> Option<Stream> {
        self.req = req;
        self.phase = Phase::New;
        self.via = None;
        self.decoder = Decoder::new(max_message);
        self.rx = RxInfo::default();
        self.out = Vec::new();
        self.out_pos = 0;
        self.want_writeable = false;
        self.close_reason = None;
        self.tx_message_open = false;
        for (kind, seq) in self.timer_seq.iter_mut().enumerate() {
            if kind != Kind::User as usize {
                *seq = 0;
            }
        }
        self.kill_reason = 0;
        self.rx_paused = false;
        self.rx_stash = Vec::new();
        self.last_rx = Tick::now();
        self.rx_stamp = false;
        self.ping_sent = false;
        self.gathering = false;
        self.http_status = 0;
        if let Some(r) = self.restart.as_deref_mut() {
            r.peer_close = None;
        }
        // Compression is negotiated again by the next upgrade.
        self.pmd = None;
        // Senders holding the old outbox are told it closed.
        self.outbox = None;
        self.sock.take()
    }
}
