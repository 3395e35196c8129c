//! Unit tests of a connection's data: its memory, how it ends, what it keeps, and its send queue.

use super::*;
use crate::frame::{Decoder, Event};

fn conn() -> Conn {
    let req = ConnectRequest {
        names: Names::new("127.0.0.1", "/chat", "127.0.0.1", None, None),
        port: 7681,
        protocol_index: 0,
        userdata: Opaque::NULL,
        opaque_user_data: Opaque::NULL,
        pwsi: Opaque::NULL,
        require_subprotocol: false,
        no_deflate: false,
        tls: None,
        retry: None,
        follow_redirects: true,
        reconnect: false,
    };
    Conn::new(
        ConnId { index: 1, gen: 1 },
        0,
        24,
        req,
        1 << 20,
        Rc::new(RetryPolicy::default()),
    )
}

fn refused() -> ConnectError {
    ConnectError::Refused {
        addr: "127.0.0.1:7681".into(),
    }
}

fn failure(c: &Conn) -> Option<String> {
    match &c.phase {
        Phase::Done(Outcome::Failed { error, .. }) => Some(error.to_string()),
        _ => None,
    }
}

#[test]
fn per_session_data_is_zeroed_and_aligned() {
    let c = conn();
    assert!(!c.user.is_null());
    assert_eq!(c.user.0 as usize % 16, 0);
    assert_eq!(c.target(), "127.0.0.1:7681/chat");
}

#[test]
fn a_failed_connection_keeps_its_first_error() {
    let mut c = conn();
    c.fail(refused());
    c.fail(ConnectError::ContextDestroyed);
    c.end(|_| ConnectError::ClosedByApplication);
    assert!(failure(&c).unwrap().starts_with("Unable to connect"));
    assert!(!c.was_established());
}

#[test]
fn the_response_stays_readable_when_the_upgrade_fails() {
    let mut c = conn();
    let resp = Response {
        status: 404,
        reason: "Not Found".into(),
        headers: vec![("X-Why".into(), b"gone".to_vec())],
    };
    c.phase = Phase::Accepting(Box::new(resp));
    assert_eq!(c.response().unwrap().header("x-why"), Some(&b"gone"[..]));
    c.fail(ConnectError::RejectedByFilter);
    assert_eq!(
        c.response().unwrap().status,
        404,
        "readable in CONNECTION_ERROR"
    );
    assert!(failure(&c).is_some());
}

#[test]
fn an_established_connection_ends_closed_not_failed() {
    for open in [Phase::Established, Phase::Closing] {
        let mut c = conn();
        c.phase = open;
        assert!(c.was_established());
        c.end(|_| refused());
        assert!(matches!(c.phase, Phase::Done(Outcome::Closed)));
        assert!(c.was_established());
        c.end(|_| refused());
        assert!(
            failure(&c).is_none(),
            "an ended connection stays as it ended"
        );
    }
    let mut c = conn();
    c.phase = Phase::Tls;
    c.end(|c| ConnectError::HungUp {
        target: c.target(),
        received: 0,
    });
    assert!(failure(&c).unwrap().contains("127.0.0.1:7681/chat"));
}

#[test]
fn fragments_must_form_whole_messages() {
    let mut c = conn();
    assert_eq!(
        c.tx_check(OpCode::Continuation, true),
        Err(Misframed::NoMessageInProgress)
    );
    assert_eq!(c.tx_check(OpCode::Text, false), Ok(false));
    assert_eq!(
        c.tx_check(OpCode::Binary, true),
        Err(Misframed::MessageInProgress)
    );
    assert_eq!(
        c.tx_check(OpCode::Ping, false),
        Err(Misframed::FragmentedControl)
    );
    assert_eq!(
        c.tx_check(OpCode::Ping, true),
        Ok(false),
        "pings go between fragments"
    );
    assert_eq!(c.tx_check(OpCode::Continuation, false), Ok(false));
    assert_eq!(
        c.tx_check(OpCode::Continuation, true),
        Ok(true),
        "the fragmented message ends"
    );
    assert_eq!(c.tx_check(OpCode::Binary, true), Ok(false));
    assert_eq!(
        c.stats.tx_messages, 2,
        "finished data messages count, refused frames and pings do not"
    );
}

#[test]
fn writeable_is_due_only_when_open_and_drained() {
    let mut c = conn();
    c.want_writeable = true;
    assert!(!c.take_writeable(), "not before CLIENT_ESTABLISHED");
    c.phase = Phase::Established;
    c.queue_frame(OpCode::Text, true, b"queued", [1, 2, 3, 4]);
    assert!(!c.take_writeable(), "not while the queue holds data");
    c.out.clear();
    assert!(c.take_writeable());
    assert!(!c.take_writeable(), "once per request");
    c.want_writeable = true;
    c.phase = Phase::Closing;
    assert!(!c.take_writeable(), "not after our Close");
}

#[test]
fn queued_frames_are_masked_and_unmask_to_the_payload() {
    let mut c = conn();
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    c.queue_frame(OpCode::Binary, true, b"abcdefghij", mask);
    let frame = &c.out;
    assert_eq!(frame[0], 0x82);
    assert_eq!(frame[1], 0x80 | 10);
    assert_eq!(&frame[2..6], &mask);
    let mut payload = frame[6..].to_vec();
    crate::frame::apply_mask(&mut payload, mask);
    assert_eq!(payload, b"abcdefghij");
    // What a server would see, decoded by our decoder after unmasking.
    let mut unmasked = vec![0x82, 10];
    unmasked.extend_from_slice(&payload);
    let mut d = Decoder::new(1 << 20);
    let mut pos = 0;
    assert!(matches!(
        d.next(&unmasked, &mut pos, 4096),
        Event::Data { len: 10, .. }
    ));
}
