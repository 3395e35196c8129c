//! What C programs really do wrong, and what they may do that is easy to
//! get wrong inside the library: each gives the documented result, a log
//! line where it is refused, and never a crash.

mod common;

use std::ffi::{c_char, c_int, c_void};
use std::ptr::null_mut;

use common::*;
use wsloop::ffi::*;

unsafe extern "C" fn quiet_cb(
    _wsi: *mut ws,
    _reason: ws_callback_reasons,
    _user: *mut c_void,
    _in: *mut c_void,
    _len: usize,
) -> c_int {
    0
}

/// A protocol table with one entry that ignores everything.
fn quiet_protocols() -> [ws_protocols; 2] {
    let mut p: [ws_protocols; 2] = unsafe { std::mem::zeroed() };
    p[0].name = c"quiet".as_ptr();
    p[0].callback = Some(quiet_cb);
    p
}

#[test]
fn contexts_created_on_many_threads_at_once_are_all_live() {
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..50 {
                    let mut info: ws_context_creation_info = unsafe { std::mem::zeroed() };
                    info.port = WS_CONTEXT_PORT_NO_LISTEN;
                    let protocols = quiet_protocols();
                    info.protocols = protocols.as_ptr();
                    let mut mine = 0u8;
                    info.user = &mut mine as *mut u8 as *mut c_void;
                    let ctx = unsafe { ws_create_context(&info) };
                    assert!(!ctx.is_null());
                    assert_eq!(unsafe { ws_service(ctx, -1) }, 0, "the new context is live");
                    assert_eq!(unsafe { ws_context_user(ctx) }, info.user, "and it is ours");
                    unsafe { ws_context_destroy(ctx) };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread saw a dead or foreign context");
    }
}

fn capture() {
    let mask = WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_USER;
    unsafe { ws_set_log_level(mask, log_emitter()) };
}

/// Runs `call` and asserts it logged a line starting with `prefix`.
fn logs<T>(prefix: &str, call: impl FnOnce() -> T) -> T {
    let before = log_lines().len();
    let out = call();
    let lines = log_lines();
    assert!(
        lines[before..]
            .iter()
            .any(|l| l.strip_prefix("E: ").unwrap_or(l).starts_with(prefix)),
        "no log line starting with {prefix:?}; got {:?}",
        &lines[before..]
    );
    out
}

/// Every function the header declares is called in this file with NULL for
/// each pointer: the documented error value and a log line, never a crash.
#[test]
fn every_exported_function_refuses_null_with_a_log_line() {
    capture();
    let src = std::fs::read_to_string(root().join("tests/c_misuse.rs")).unwrap();
    let header = std::fs::read_to_string(root().join("include/wsloop.h")).unwrap();
    let mut declared = 0;
    for line in header.lines() {
        // Declarations start at column 0 with their return type.
        let Some((head, _)) = line.split_once('(') else {
            continue;
        };
        if line.starts_with([' ', '#', '}', '/', '*'])
            || head.starts_with("typedef")
            || head.starts_with("static")
        {
            continue;
        }
        let name = head.rsplit([' ', '*']).next().unwrap_or_default();
        if name.starts_with("ws_") {
            declared += 1;
            assert!(
                src.contains(&format!("{name}(")),
                "{name} is exported but not tested here"
            );
        }
    }
    assert!(
        declared >= 28,
        "found {declared} declarations in the header"
    );

    unsafe {
        // Contexts.
        logs("ws_create_context: info is NULL", || {
            assert!(ws_create_context(std::ptr::null_mut()).is_null())
        });
        let mut info: ws_context_creation_info = std::mem::zeroed();
        logs("ws_create_context: protocols is NULL", || {
            assert!(ws_create_context(&info).is_null())
        });
        info.port = WS_CONTEXT_PORT_NO_LISTEN;
        logs("ws_service: not a live context", || {
            assert_eq!(ws_service(null_mut(), 0), -1)
        });
        logs("ws_cancel_service: not a live context", || {
            ws_cancel_service(null_mut())
        });
        logs("ws_context_user: not a live context", || {
            assert!(ws_context_user(null_mut()).is_null())
        });
        ws_context_destroy(null_mut()); // like free(NULL): nothing to do, nothing logged

        // Senders (a wsloop extension).
        logs("ws_sender_get: wsi is NULL", || {
            assert!(ws_sender_get(null_mut(), 0).is_null())
        });
        logs("ws_sender_ref: sender is NULL", || {
            assert!(ws_sender_ref(null_mut()).is_null())
        });
        ws_sender_release(null_mut()); // like free(NULL)
        logs("ws_sender_write: sender is NULL", || {
            assert_eq!(
                ws_sender_write(null_mut(), std::ptr::null(), 0, 0),
                WS_SENDER_INVALID
            )
        });
        logs("ws_sender_wait: sender is NULL", || {
            assert_eq!(ws_sender_wait(null_mut(), 0, 0), WS_SENDER_INVALID)
        });
        logs("ws_client_connect_via_info: info is NULL", || {
            assert!(ws_client_connect_via_info(std::ptr::null_mut()).is_null())
        });
        let mut ci: ws_client_connect_info = std::mem::zeroed();
        logs(
            "ws_client_connect_via_info: context is not a live context",
            || assert!(ws_client_connect_via_info(&ci).is_null()),
        );
        let protocols = quiet_protocols();
        info.protocols = protocols.as_ptr();
        let ctx = ws_create_context(&info);
        assert!(!ctx.is_null());
        ci.context = ctx;
        logs(
            "ws_client_connect_via_info: address is NULL or empty",
            || assert!(ws_client_connect_via_info(&ci).is_null()),
        );
        ws_context_destroy(ctx);

        // Connections.
        logs("ws_write: wsi is NULL", || {
            assert_eq!(ws_write(null_mut(), null_mut(), 0, 0), -1)
        });
        logs("ws_callback_on_writable: wsi is NULL", || {
            assert_eq!(ws_callback_on_writable(null_mut()), -1)
        });
        logs("ws_close_reason: wsi is NULL", || {
            ws_close_reason(null_mut(), 1000, null_mut(), 0)
        });
        logs("ws_get_context: wsi 0x0 is not a live handle", || {
            assert!(ws_get_context(null_mut()).is_null())
        });
        logs("ws_wsi_user: wsi is NULL", || {
            assert!(ws_wsi_user(null_mut()).is_null())
        });
        logs("ws_get_opaque_user_data: wsi is NULL", || {
            assert!(ws_get_opaque_user_data(null_mut()).is_null())
        });
        logs("ws_get_protocol: wsi 0x0 is not a live handle", || {
            assert!(ws_get_protocol(null_mut()).is_null())
        });
        logs("ws_is_first_fragment: wsi is NULL", || {
            assert_eq!(ws_is_first_fragment(null_mut()), 0)
        });
        logs("ws_is_final_fragment: wsi is NULL", || {
            assert_eq!(ws_is_final_fragment(null_mut()), 0)
        });
        logs("ws_frame_is_binary: wsi is NULL", || {
            assert_eq!(ws_frame_is_binary(null_mut()), 0)
        });
        logs("ws_remaining_packet_payload: wsi is NULL", || {
            assert_eq!(ws_remaining_packet_payload(null_mut()), 0)
        });
        logs("ws_send_pipe_choked: wsi is NULL", || {
            assert_eq!(ws_send_pipe_choked(null_mut()), 1)
        });
        logs("ws_partial_buffered: wsi is NULL", || {
            assert_eq!(ws_partial_buffered(null_mut()), 0)
        });
        logs("ws_hdr_copy: wsi is NULL", || {
            assert_eq!(ws_hdr_copy(null_mut(), null_mut(), 0, 5), -1)
        });
        logs("ws_hdr_custom_copy: wsi is NULL", || {
            let mut dst = [0 as c_char; 8];
            assert_eq!(
                ws_hdr_custom_copy(null_mut(), dst.as_mut_ptr(), 8, c"x:".as_ptr(), 2),
                -1
            )
        });
        logs("ws_hdr_custom_copy: name is NULL", || {
            assert_eq!(
                ws_hdr_custom_copy(null_mut(), null_mut(), 0, std::ptr::null_mut(), 0),
                -1
            )
        });
        logs("ws_http_client_http_response: wsi is NULL", || {
            assert_eq!(ws_http_client_http_response(null_mut()), 0)
        });
        logs("ws_add_http_header_by_name: NULL argument", || {
            assert_eq!(
                ws_add_http_header_by_name(
                    null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    0,
                    null_mut(),
                    null_mut()
                ),
                1
            )
        });
        let mut p: *mut u8 = null_mut();
        logs("ws_add_http_header_by_name: NULL argument", || {
            assert_eq!(
                ws_add_http_header_by_name(
                    null_mut(),
                    c"x:".as_ptr().cast(),
                    null_mut(),
                    0,
                    &mut p,
                    null_mut()
                ),
                1
            )
        });
        // The default handler has nothing to do for any reason.
        assert_eq!(
            ws_callback_http_dummy(
                null_mut(),
                ws_callback_reasons::WS_CALLBACK_CLIENT_RECEIVE,
                null_mut(),
                null_mut(),
                0
            ),
            0
        );

        // Timers, retry, vhost, ring and helpers.
        let mut sul: ws_sorted_usec_list_t = std::mem::zeroed();
        logs("ws_sul_schedule: not a live context", || {
            ws_sul_schedule(null_mut(), 0, &mut sul, None, 0)
        });
        logs("ws_sul_cancel: sul is NULL", || ws_sul_cancel(null_mut()));
        assert!(ws_now_usecs() >= 0);
        // No arguments to refuse: a static string, the same on every call.
        assert_eq!(
            std::ffi::CStr::from_ptr(ws_get_library_version()).to_str(),
            Ok(env!("CARGO_PKG_VERSION"))
        );
        logs("ws_set_timer_usecs: wsi is NULL", || {
            ws_set_timer_usecs(null_mut(), 1)
        });
        logs("ws_set_timeout: wsi is NULL", || {
            ws_set_timeout(null_mut(), WS_PENDING_TIMEOUT_USER_OK, 1)
        });
        logs(
            "ws_retry_get_delay_ms: context is not live or ctry is NULL",
            || {
                assert_eq!(
                    ws_retry_get_delay_ms(null_mut(), std::ptr::null(), null_mut(), null_mut()),
                    0
                )
            },
        );
        logs(
            "ws_retry_sul_schedule: context is not live or ctry is NULL",
            || {
                assert_eq!(
                    ws_retry_sul_schedule(
                        null_mut(),
                        0,
                        null_mut(),
                        std::ptr::null(),
                        None,
                        null_mut()
                    ),
                    1
                )
            },
        );
        logs("ws_retry_sul_schedule_retry_wsi: wsi is NULL", || {
            assert_eq!(
                ws_retry_sul_schedule_retry_wsi(null_mut(), null_mut(), None, null_mut()),
                1
            )
        });
        logs("ws_rx_flow_control: wsi is NULL", || {
            assert_eq!(ws_rx_flow_control(null_mut(), 1), -1)
        });
        logs("ws_set_opaque_user_data: wsi is NULL", || {
            ws_set_opaque_user_data(null_mut(), null_mut())
        });
        logs("ws_set_wsi_user: wsi is NULL", || {
            ws_set_wsi_user(null_mut(), null_mut())
        });
        logs("ws_validity_confirmed: wsi is NULL", || {
            ws_validity_confirmed(null_mut())
        });
        logs("ws_get_vhost: wsi 0x0 is not a live handle", || {
            assert!(ws_get_vhost(null_mut()).is_null())
        });
        logs("ws_get_vhost_name: not a live vhost", || {
            assert!(ws_get_vhost_name(null_mut()).is_null())
        });
        logs("ws_get_vhost_by_name: not a live context", || {
            assert!(ws_get_vhost_by_name(null_mut(), std::ptr::null()).is_null())
        });
        logs(
            "ws_set_permessage_deflate: context is NULL or destroyed",
            || assert_eq!(ws_set_permessage_deflate(null_mut(), 1, 128), -1),
        );
        logs("ws_set_proxy: not a live vhost", || {
            assert_eq!(ws_set_proxy(null_mut(), std::ptr::null()), -1)
        });
        logs("ws_set_socks: not a live vhost", || {
            assert_eq!(ws_set_socks(null_mut(), std::ptr::null()), -1)
        });
        logs("ws_protocol_vh_priv_zalloc: not a live vhost", || {
            assert!(ws_protocol_vh_priv_zalloc(null_mut(), std::ptr::null(), 8).is_null())
        });
        logs("ws_protocol_vh_priv_get: not a live vhost", || {
            assert!(ws_protocol_vh_priv_get(null_mut(), std::ptr::null()).is_null())
        });
        logs("ws_pvo_search: name is NULL", || {
            assert!(ws_pvo_search(std::ptr::null(), std::ptr::null()).is_null())
        });
        logs(
            "ws_callback_on_writable_all_protocol: not a live context",
            || {
                assert_eq!(
                    ws_callback_on_writable_all_protocol(null_mut(), std::ptr::null()),
                    -1
                )
            },
        );
        logs("ws_get_random: not a live context", || {
            assert_eq!(ws_get_random(null_mut(), null_mut(), 4), 0)
        });
        logs("ws_cmdline_option: argv or val is NULL", || {
            assert!(ws_cmdline_option(0, std::ptr::null(), std::ptr::null()).is_null())
        });
        logs("ws_cmdline_option_handle_builtin: argv is NULL", || {
            ws_cmdline_option_handle_builtin(0, std::ptr::null(), null_mut())
        });
        logs("ws_json_simple_find: NULL argument", || {
            assert!(
                ws_json_simple_find(std::ptr::null(), 0, std::ptr::null(), null_mut()).is_null()
            )
        });
        logs(
            "ws_ring_create: element_len 0 and count 0 do not make a ring",
            || assert!(ws_ring_create(0, 0, None).is_null()),
        );
        logs("ws_ring_destroy: ring is NULL", || {
            ws_ring_destroy(null_mut())
        });
        logs("ws_ring_insert: ring is NULL", || {
            assert_eq!(ws_ring_insert(null_mut(), std::ptr::null(), 1), 0)
        });
        logs("ws_ring_consume: ring is NULL", || {
            assert_eq!(ws_ring_consume(null_mut(), null_mut(), null_mut(), 1), 0)
        });
        logs("ws_ring_get_element: ring is NULL", || {
            assert!(ws_ring_get_element(null_mut(), null_mut()).is_null())
        });
        logs("ws_ring_get_count_free_elements: ring is NULL", || {
            assert_eq!(ws_ring_get_count_free_elements(null_mut()), 0)
        });
        logs("ws_ring_get_count_waiting_elements: ring is NULL", || {
            assert_eq!(
                ws_ring_get_count_waiting_elements(null_mut(), null_mut()),
                0
            )
        });
        logs("ws_ring_update_oldest_tail: ring is NULL", || {
            ws_ring_update_oldest_tail(null_mut(), 0)
        });
        logs("ws_ring_get_oldest_tail: ring is NULL", || {
            assert_eq!(ws_ring_get_oldest_tail(null_mut()), 0)
        });
        logs("ws_ring_next_linear_insert_range: ring is NULL", || {
            assert_eq!(
                ws_ring_next_linear_insert_range(null_mut(), null_mut(), null_mut()),
                1
            )
        });
        logs("ws_ring_bump_head: ring is NULL", || {
            ws_ring_bump_head(null_mut(), 0)
        });
        logs("ws_ring_dump: ring is NULL", || {
            ws_ring_dump(null_mut(), null_mut())
        });

        // Own event loops, external poll, all-protocol calls.
        logs("ws_get_poll_fd: not a live context", || {
            assert_eq!(ws_get_poll_fd(null_mut()), -1)
        });
        logs("ws_get_poll_timeout_ms: not a live context", || {
            assert_eq!(ws_get_poll_timeout_ms(null_mut()), 0)
        });
        logs("ws_service: not a live context", || {
            assert_eq!(ws_service_tsi(null_mut(), 0, 0), -1)
        });
        logs("ws_service_fd: not a live context", || {
            assert_eq!(ws_service_fd(null_mut(), null_mut()), -1)
        });
        logs("ws_service_fd: not a live context", || {
            assert_eq!(ws_service_fd_tsi(null_mut(), null_mut(), 0), -1)
        });
        // lws' value for a NULL context, nothing logged.
        assert_eq!(ws_service_adjust_timeout(null_mut(), 5, 0), 1);
        logs("ws_callback_all_protocol: not a live context", || {
            assert_eq!(
                ws_callback_all_protocol(null_mut(), std::ptr::null(), 0),
                -1
            )
        });
        logs(
            "ws_callback_all_protocol_vhost_args: not a live vhost",
            || {
                assert_eq!(
                    ws_callback_all_protocol_vhost_args(
                        null_mut(),
                        std::ptr::null(),
                        0,
                        null_mut(),
                        0
                    ),
                    -1
                )
            },
        );
        logs(
            "ws_callback_on_writable_all_protocol_vhost: not a live vhost",
            || {
                assert_eq!(
                    ws_callback_on_writable_all_protocol_vhost(null_mut(), std::ptr::null()),
                    -1
                )
            },
        );
        logs(
            "ws_callback_vhost_protocols: wsi is not a connection or protocol handle",
            || assert_eq!(ws_callback_vhost_protocols(null_mut(), 0, null_mut(), 0), 0),
        );
        logs("ws_get_socket_fd: wsi is NULL", || {
            assert_eq!(ws_get_socket_fd(null_mut()), -1)
        });
        logs("ws_get_peer_simple: name is NULL or namelen is 0", || {
            assert!(ws_get_peer_simple(null_mut(), null_mut(), 0).is_null())
        });
        logs("ws_hdr_total_length: wsi is NULL", || {
            assert_eq!(ws_hdr_total_length(null_mut(), 5), 0)
        });
        logs("ws_add_http_header_by_name: NULL argument", || {
            assert_eq!(
                ws_add_http_header_by_token(
                    null_mut(),
                    5,
                    std::ptr::null(),
                    0,
                    null_mut(),
                    null_mut()
                ),
                1
            )
        });
        logs("ws_is_ssl: wsi is NULL", || {
            assert_eq!(ws_is_ssl(null_mut()), 0)
        });
        logs("ws_set_timeout_us: wsi is NULL", || {
            ws_set_timeout_us(null_mut(), WS_PENDING_TIMEOUT_USER_OK, 1)
        });
        assert!(ws_now_secs() > 1_700_000_000);
        logs("(hexdump: NULL)", || {
            ws_hexdump_level(WS_LLL_ERR, std::ptr::null(), 4)
        });
        // Never called by wsloop; it names the extension in a table.
        assert_eq!(
            ws_extension_callback_pm_deflate(
                null_mut(),
                std::ptr::null(),
                null_mut(),
                0,
                null_mut(),
                null_mut(),
                0
            ),
            0
        );

        // Logging: NULL emitter means stderr; a NULL line is nothing to log.
        ws_log_line(WS_LLL_ERR, std::ptr::null_mut());
        assert_eq!(ws_log_level_enabled(WS_LLL_ERR), 1);
        assert_eq!(
            ws_write_ws_flags(ws_write_protocol::WS_WRITE_TEXT as c_int, 1, 1),
            ws_write_protocol::WS_WRITE_TEXT as c_int
        );
    }
}

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;

fn reason_is(r: i32, reason: ws_callback_reasons) -> bool {
    r == reason as i32
}

/// NULL buffers on a live connection, writes outside CLIENT_WRITEABLE and
/// after the close, ws_service and ws_context_destroy from inside a
/// callback, and a second destroy.
#[test]
fn misuse_around_a_live_connection() {
    use ws_callback_reasons::*;
    capture();
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let ctx = c.ctx;
    let refused_after_close = std::rc::Rc::new(std::cell::Cell::new(0));
    let refused = refused_after_close.clone();
    c.hook(move |wsi, r, _, _| unsafe {
        if reason_is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            logs("ws_write: buf is NULL but len is 5", || {
                assert_eq!(ws_write(wsi, null_mut(), 5, TEXT), -1)
            });
            logs("ws_hdr_copy: dst is NULL or len is not positive", || {
                let token = ws_token_indexes::WS_WSI_TOKEN_UPGRADE as c_int;
                assert_eq!(ws_hdr_copy(wsi, null_mut(), 10, token), -1)
            });
            logs("ws_close_reason: buf is NULL but len is 5", || {
                ws_close_reason(wsi, 1000, null_mut(), 5)
            });
            logs("ws_service called from inside a callback: ignored", || {
                assert_eq!(ws_service(ctx, -1), 0)
            });
            logs(
                "ws_context_destroy called from inside a callback: refused",
                || ws_context_destroy(ctx),
            );
            // Not from CLIENT_WRITEABLE: taken and sent all the same.
            assert_eq!(send(wsi, TEXT, b"not from WRITEABLE"), 18);
        }
        if reason_is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            return Some(-1);
        }
        if reason_is(r, WS_CALLBACK_CLIENT_CLOSED) || reason_is(r, WS_CALLBACK_WSI_DESTROY) {
            logs("ws_write: the connection is closed", || {
                assert_eq!(send(wsi, TEXT, b"too late"), -1)
            });
            refused.set(refused.get() + 1);
        }
        None
    });
    let wsi = c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter()
            .any(|e| reason_is(e.reason, WS_CALLBACK_WSI_DESTROY))
    });
    let rx = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx[0].text(), "not from WRITEABLE");
    assert_eq!(refused_after_close.get(), 2);
    logs("ws_write: wsi", || assert_eq!(send(wsi, TEXT, b"x"), -1));

    unsafe { ws_context_destroy(c.ctx) };
    logs(
        "ws_context_destroy: not a live context (destroyed twice?)",
        || unsafe { ws_context_destroy(c.ctx) },
    );
    // (Ctx's drop destroys a third time: refused the same way.)
}

/// Connections in every phase when the context is destroyed: each gets
/// exactly one CLIENT_CLOSED or CLIENT_CONNECTION_ERROR, then WSI_DESTROY;
/// the established one sends Close 1001 (going away).
#[test]
fn destroy_with_connections_in_every_phase() {
    use ws_callback_reasons::*;
    capture();
    let (tx, rx) = std::sync::mpsc::channel();
    let open = raw_server(move |mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        let _ = tx.send(read_client_frame(&mut s));
    });
    let silent = raw_server(|mut s| {
        read_request(&mut s);
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    let c = Ctx::new(CtxOpts::default());
    let established = c.connect("127.0.0.1", open, None, |_| {});
    let handshaking = c.connect("127.0.0.1", silent, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| {
            e.wsi == established as usize && reason_is(e.reason, WS_CALLBACK_CLIENT_ESTABLISHED)
        }) && e.iter().any(|e| {
            e.wsi == handshaking as usize
                && reason_is(e.reason, WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER)
        })
    });
    let resolving = c.connect("localhost", 9, None, |_| {});
    unsafe { ws_context_destroy(c.ctx) };

    let tail = |wsi: *mut ws| -> Vec<i32> {
        let r: Vec<i32> = c
            .rec
            .borrow()
            .events
            .iter()
            .filter(|e| e.wsi == wsi as usize)
            .map(|e| e.reason)
            .collect();
        r[r.len() - 2..].to_vec()
    };
    assert_eq!(
        tail(established),
        [
            WS_CALLBACK_CLIENT_CLOSED as i32,
            WS_CALLBACK_WSI_DESTROY as i32
        ]
    );
    for wsi in [handshaking, resolving] {
        assert_eq!(
            tail(wsi),
            [
                WS_CALLBACK_CLIENT_CONNECTION_ERROR as i32,
                WS_CALLBACK_WSI_DESTROY as i32
            ]
        );
    }
    let errors = c.events(WS_CALLBACK_CLIENT_CONNECTION_ERROR);
    assert!(errors
        .iter()
        .all(|e| e.text() == "Closed before conn: the context was destroyed"));
    let (op, payload) = rx
        .recv_timeout(SECS5)
        .unwrap()
        .expect("the established connection sent a frame");
    assert_eq!((op, &payload[..2]), (0x88, &1001u16.to_be_bytes()[..]));
}
