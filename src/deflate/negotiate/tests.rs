//! Offers and answers, good and bad, with their messages.

use super::*;

fn lws() -> Offer {
    Offer::parse(LWS_OFFER).unwrap()
}

fn answer(offer: Option<&Offer>, sent: &str) -> Result<Option<Params>, ExtensionError> {
    check_response(offer, &[sent])
}

fn problem(offer: Option<&Offer>, sent: &str) -> ExtensionProblem {
    answer(offer, sent).unwrap_err().problem
}

#[test]
fn parses_and_renders_offers() {
    assert_eq!(lws(), Offer::lws_default());
    assert_eq!(lws().to_string(), LWS_OFFER);
    let o = Offer::parse(
        "permessage-deflate;server_no_context_takeover ;  server_max_window_bits=\"10\"; client_max_window_bits=12",
    )
    .unwrap();
    assert_eq!(
        o,
        Offer {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
            server_max_window_bits: Some(10),
            client_max_window_bits: ClientWindow::Max(12),
        }
    );
    assert_eq!(
        o.to_string(),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
    );
    assert_eq!(Offer::parse(&o.to_string()).unwrap(), o);
    assert_eq!(
        Offer::parse("permessage-deflate").unwrap(),
        Offer::default()
    );
}

#[test]
fn refuses_unusable_offers() {
    for (text, detail) in [
        ("deflate-frame", "it names 'deflate-frame'"),
        ("", "it names no extension"),
        (
            "permessage-deflate, permessage-deflate",
            "more than one offer",
        ),
        (
            "permessage-deflate; rx_buf_size=10",
            "unknown parameter 'rx_buf_size'",
        ),
        (
            "permessage-deflate; server_max_window_bits",
            "needs a value",
        ),
        (
            "permessage-deflate; server_max_window_bits=16",
            "=16 is not a number from 8 to 15",
        ),
        (
            "permessage-deflate; client_max_window_bits=08",
            "=08 is not",
        ),
        (
            "permessage-deflate; client_no_context_takeover=1",
            "takes no value",
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "appears twice",
        ),
        (
            "permessage-deflate;",
            "expected a parameter name at the end",
        ),
        (
            "permessage-deflate x",
            "expected ',' or ';' at byte 19 and found 'x'",
        ),
    ] {
        let e = Offer::parse(text).unwrap_err();
        assert!(e.detail.contains(detail), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!(
            "permessage-deflate offer '{text}' is not usable: "
        )));
    }
}

#[test]
fn accepts_what_servers_answer() {
    // No answer, or an empty one: no compression.
    assert_eq!(check_response(Some(&lws()), &[]).unwrap(), None);
    assert_eq!(answer(Some(&lws()), " ").unwrap(), None);
    assert_eq!(answer(None, "").unwrap(), None);
    // What the test peers answer to the lws offer: Node `ws` (modes
    // deflate, deflate-no-takeover, deflate-window:9), Python
    // `websockets` 17 and libwebsockets 4.1.6.
    let p = |sent: &str| answer(Some(&lws()), sent).unwrap().unwrap();
    let plain = p("permessage-deflate; client_no_context_takeover");
    assert_eq!(
        plain,
        Params {
            server_no_context_takeover: false,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    );
    let none = p("permessage-deflate; client_no_context_takeover; server_no_context_takeover");
    assert!(none.server_no_context_takeover && none.client_no_context_takeover);
    let nine = p("permessage-deflate; client_no_context_takeover; client_max_window_bits=9; server_max_window_bits=9");
    assert_eq!(
        (nine.server_max_window_bits, nine.client_max_window_bits),
        (9, 9)
    );
    let py = p("permessage-deflate; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12");
    assert_eq!(
        (py.server_max_window_bits, py.client_max_window_bits),
        (12, 12)
    );
    assert!(!py.server_no_context_takeover);
    // The offered client_no_context_takeover holds even when not echoed.
    let p = answer(Some(&lws()), "permessage-deflate").unwrap().unwrap();
    assert!(p.client_no_context_takeover);
    assert_eq!(
        (p.server_max_window_bits, p.client_max_window_bits),
        (15, 15)
    );
    // The server may choose its own window and reset, unasked.
    let p = answer(
        Some(&lws()),
        "permessage-deflate;server_no_context_takeover; server_max_window_bits=\"10\"; client_max_window_bits=9",
    )
    .unwrap()
    .unwrap();
    assert!(p.server_no_context_takeover);
    assert_eq!(
        (p.server_max_window_bits, p.client_max_window_bits),
        (10, 9)
    );
    // Window 8 is accepted both ways (see Params).
    let p = answer(
        Some(&lws()),
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
    )
    .unwrap()
    .unwrap();
    assert_eq!((p.server_max_window_bits, p.client_max_window_bits), (8, 8));
    // An offered maximum holds when the answer leaves it out.
    let o =
        Offer::parse("permessage-deflate; client_max_window_bits=11; server_max_window_bits=12")
            .unwrap();
    let p = answer(Some(&o), "permessage-deflate; server_max_window_bits=12")
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.server_max_window_bits, p.client_max_window_bits),
        (12, 11)
    );
    // Several header lines are one list.
    assert_eq!(
        check_response(Some(&lws()), &["", "permessage-deflate"]).unwrap(),
        Some(answer(Some(&lws()), "permessage-deflate").unwrap().unwrap())
    );
}

#[test]
fn rejects_what_rfc_7692_forbids() {
    use ExtensionProblem::*;
    let l = lws();
    let strict =
        Offer::parse("permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
            .unwrap();
    for (offer, sent, want) in [
        (None, "permessage-deflate", NotOffered(NAME.into())),
        (
            Some(&l),
            "x-webkit-deflate-frame",
            NotOffered("x-webkit-deflate-frame".into()),
        ),
        (
            Some(&l),
            "permessage-deflate, x-foo",
            NotOffered("x-foo".into()),
        ),
        (Some(&l), "permessage-deflate, permessage-deflate", Repeated),
        (
            Some(&l),
            "permessage-deflate; foo",
            BadParameters("unknown parameter 'foo'".into()),
        ),
        (
            Some(&l),
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            BadParameters("parameter 'client_no_context_takeover' appears twice".into()),
        ),
        (
            Some(&l),
            "permessage-deflate; server_max_window_bits=7",
            BadParameters("server_max_window_bits=7 is not a number from 8 to 15".into()),
        ),
        (
            Some(&l),
            "permessage-deflate; client_max_window_bits=16",
            BadParameters("client_max_window_bits=16 is not a number from 8 to 15".into()),
        ),
        (
            Some(&l),
            "permessage-deflate; client_max_window_bits",
            BadParameters("client_max_window_bits needs a value from 8 to 15".into()),
        ),
        (
            Some(&l),
            "permessage-deflate; server_no_context_takeover=yes",
            BadParameters("server_no_context_takeover takes no value, and has 'yes'".into()),
        ),
        (
            Some(&l),
            "permessage-deflate; server_max_window_bits=\"1 0\"",
            BadParameters("quoted value \"1 0\" is not a token".into()),
        ),
        (
            Some(&Offer::default()),
            "permessage-deflate; client_max_window_bits=10",
            Rejected("client_max_window_bits=10, which the client did not offer".into()),
        ),
        (
            Some(&strict),
            "permessage-deflate; server_max_window_bits=10",
            Rejected("server_no_context_takeover was asked for and is missing".into()),
        ),
        (
            Some(&strict),
            "permessage-deflate; server_no_context_takeover",
            Rejected("server_max_window_bits=10 was asked for and is missing".into()),
        ),
        (
            Some(&strict),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            Rejected("server_max_window_bits=11 is larger than the 10 asked for".into()),
        ),
        (
            Some(&Offer::parse("permessage-deflate; client_max_window_bits=10").unwrap()),
            "permessage-deflate; client_max_window_bits=12",
            Rejected("client_max_window_bits=12 is larger than the 10 offered".into()),
        ),
    ] {
        assert_eq!(problem(offer, sent), want, "{sent}");
    }
}

#[test]
fn errors_start_with_lws_wording_and_show_both_sides() {
    let e = answer(
        Some(&lws()),
        "permessage-deflate; server_max_window_bits=16",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "HS: EXT: failed parsing options: the server sent 'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16' for the offer 'permessage-deflate; client_no_context_takeover; client_max_window_bits': server_max_window_bits=16 is not a number from 8 to 15"
    );
    let e = answer(None, "permessage-deflate").unwrap_err();
    assert_eq!(
        e.to_string(),
        "HS: EXT: unknown ext: the server sent 'Sec-WebSocket-Extensions: permessage-deflate' but the client offered no extension: 'permessage-deflate' was not offered"
    );
    let e = answer(Some(&lws()), "permessage-deflate, permessage-deflate").unwrap_err();
    assert!(e.to_string().starts_with("HS: EXT: too many extensions: "));
    let e = answer(
        Some(&Offer::default()),
        "permessage-deflate; client_max_window_bits=9",
    )
    .unwrap_err();
    assert!(e
        .to_string()
        .starts_with("HS: EXT: Rejects server options: "));
}
