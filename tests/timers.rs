//! Scheduled callbacks, per-connection timers and timeouts, retry backoff,
//! keepalive and receive flow control, through the C API.

mod common;

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;

fn is(r: i32, reason: ws_callback_reasons) -> bool {
    r == reason as i32
}

fn destroyed(e: &[Ev]) -> bool {
    e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
}

/// A sul embedded in a struct, as C code does it.
#[repr(C)]
struct Job {
    sul: ws_sorted_usec_list_t,
    id: usize,
    due: Instant,
}

impl Job {
    fn new(id: usize) -> Box<Job> {
        Box::new(Job {
            sul: unsafe { std::mem::zeroed() },
            id,
            due: Instant::now(),
        })
    }
}

thread_local! {
    static FIRED: RefCell<Vec<(usize, Instant, Instant)>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn job_cb(sul: *mut ws_sorted_usec_list_t) {
    // ws_container_of: the sul is the first field.
    let job = &*(sul as *const Job);
    FIRED.with(|f| f.borrow_mut().push((job.id, job.due, Instant::now())));
}

fn schedule(c: &Ctx, job: &mut Job, us: i64) {
    job.due = Instant::now() + Duration::from_micros(us.max(0) as u64);
    unsafe { ws_sul_schedule(c.ctx, 0, &mut job.sul, Some(job_cb), us) };
}

#[test]
fn scheduled_callbacks_fire_in_order_never_early_and_can_move_or_cancel() {
    FIRED.with(|f| f.borrow_mut().clear());
    let c = Ctx::new(CtxOpts::default());
    let mut jobs: Vec<Box<Job>> = (0..6).map(Job::new).collect();
    for (i, j) in jobs.iter_mut().enumerate() {
        schedule(&c, j, 300_000 - i as i64 * 40_000);
    }
    assert!(
        !jobs[0].sul.list.owner.is_null(),
        "owner marks a scheduled sul"
    );
    // Move job 5 later, cancel job 3 twice (the second is a no-op) and job 4 by CANCEL.
    schedule(&c, &mut jobs[5], 350_000);
    unsafe { ws_sul_cancel(&mut jobs[3].sul) };
    unsafe { ws_sul_cancel(&mut jobs[3].sul) };
    unsafe {
        ws_sul_schedule(
            c.ctx,
            0,
            &mut jobs[4].sul,
            Some(job_cb),
            WS_SET_TIMER_USEC_CANCEL,
        )
    };
    assert!(jobs[3].sul.list.owner.is_null());
    let start = Instant::now();
    while FIRED.with(|f| f.borrow().len()) < 4 {
        assert!(start.elapsed() < SECS5);
        unsafe { ws_service(c.ctx, 0) };
    }
    // A little longer: the cancelled ones must not come.
    let until = Instant::now() + Duration::from_millis(150);
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 20) };
    }
    let fired = FIRED.with(|f| f.borrow().clone());
    let order: Vec<usize> = fired.iter().map(|f| f.0).collect();
    assert_eq!(order, [2, 1, 0, 5]);
    for (id, due, at) in fired {
        assert!(at >= due, "job {id} fired early");
        assert!(
            at - due < Duration::from_millis(50),
            "job {id} late by {:?}",
            at - due
        );
    }
    assert!(jobs.iter().all(|j| j.sul.list.owner.is_null()));
}

static STOP: Mutex<bool> = Mutex::new(false);

unsafe extern "C" fn stop_cb(_: *mut ws_sorted_usec_list_t) {
    *STOP.lock().unwrap() = true;
}

#[test]
fn a_flag_set_by_a_timer_ends_a_blocking_service_loop_without_spinning() {
    let c = Ctx::new(CtxOpts::default());
    let mut sul: Box<ws_sorted_usec_list_t> = Box::new(unsafe { std::mem::zeroed() });
    *STOP.lock().unwrap() = false;
    unsafe { ws_sul_schedule(c.ctx, 0, &mut *sul, Some(stop_cb), 300_000) };
    let start = Instant::now();
    let (mut n, mut iterations) = (0, 0);
    // The lws loop: timeout 0 waits for the next event or timer.
    while n >= 0 && !*STOP.lock().unwrap() {
        n = unsafe { ws_service(c.ctx, 0) };
        iterations += 1;
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(450),
        "{took:?}"
    );
    assert!(iterations <= 3, "the loop spun {iterations} times");
}

#[test]
fn connection_timer_and_timeouts() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let timers = std::rc::Rc::new(RefCell::new(0));
    let t2 = timers.clone();
    c.hook(move |wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            unsafe { ws_set_timer_usecs(wsi, 50_000) };
        }
        if is(r, WS_CALLBACK_TIMER) {
            *t2.borrow_mut() += 1;
            if *t2.borrow() < 3 {
                // Re-arm, then replace it: only the second one fires.
                unsafe { ws_set_timer_usecs(wsi, 10_000_000) };
                unsafe { ws_set_timer_usecs(wsi, 30_000) };
            } else {
                // Close at the next service, with a Close frame.
                unsafe { ws_set_timeout(wsi, WS_PENDING_TIMEOUT_USER_OK, WS_TO_KILL_ASYNC) };
            }
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS5, destroyed);
    assert_eq!(*timers.borrow(), 3);
    assert!(c.has(WS_CALLBACK_CLIENT_CLOSED));
    assert!(!c.has(WS_CALLBACK_CLIENT_CONNECTION_ERROR));

    // A timeout set before the connection is up fails it with its message.
    let port = raw_server(|mut s| {
        let _ = read_request(&mut s);
        std::thread::sleep(Duration::from_secs(3));
    });
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER) {
            unsafe { ws_set_timeout(wsi, WS_PENDING_TIMEOUT_USER_REASON_BASE + 7, 1) };
        }
        None
    });
    c.connect("127.0.0.1", port, None, |_| {});
    let m = c.connection_error(SECS5);
    assert_eq!(
        m,
        "Closed before conn: ws_set_timeout (reason 1007) expired before the connection was established"
    );
}

#[test]
fn keepalive_pings_an_idle_connection_and_drops_a_silent_one() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE);
    // A live server answers the PING: the connection stays up.
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let p = keepalive_policy(1, 2);
    c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.retry_and_idle_policy = &*p
    });
    let start = Instant::now();
    c.service_until(SECS5, |e| {
        e.iter()
            .any(|e| is(e.reason, WS_CALLBACK_CLIENT_RECEIVE_PONG))
    });
    let t = start.elapsed();
    assert!(
        t >= Duration::from_millis(950) && t < Duration::from_millis(1800),
        "{t:?}"
    );
    let pong = &c.events(WS_CALLBACK_CLIENT_RECEIVE_PONG)[0];
    assert_eq!(pong.data.len(), 8);
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 50) };
    }
    assert!(
        !c.has(WS_CALLBACK_CLIENT_CLOSED),
        "a live connection stays up"
    );
    assert!(c.events(WS_CALLBACK_CLIENT_RECEIVE_PONG).len() >= 2);

    // A server that never answers: closed at the hangup time, with a log line.
    let port = raw_server(|mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        let mut b = [0u8; 1024];
        while let Ok(n) = std::io::Read::read(&mut s, &mut b) {
            if n == 0 {
                break;
            }
        }
    });
    let c = Ctx::new(CtxOpts::default());
    let p = keepalive_policy(1, 2);
    c.connect("127.0.0.1", port, None, |ci| ci.retry_and_idle_policy = &*p);
    let start = Instant::now();
    c.service_until(SECS5, destroyed);
    let t = start.elapsed();
    assert!(
        t >= Duration::from_millis(1900) && t < Duration::from_millis(3000),
        "{t:?}"
    );
    assert!(c.has(WS_CALLBACK_CLIENT_CLOSED));
    assert!(logged(&format!(
        "127.0.0.1:{port}/: nothing received for 2 s, not even a PONG to the keepalive PING (secs_since_valid_hangup 2); closing the connection"
    )));

    // Zero turns keepalive off; the context's policy applies when the connection has none.
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.retry_and_idle_policy = Box::leak(keepalive_policy(0, 0));
    })
    .unwrap();
    c.connect("127.0.0.1", srv.port, None, |_| {});
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 50) };
    }
    assert!(c.has(WS_CALLBACK_CLIENT_ESTABLISHED));
    assert!(!c.has(WS_CALLBACK_CLIENT_RECEIVE_PONG));
}

#[test]
fn received_data_counts_as_proof_of_life() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let p = keepalive_policy(1, 2);
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) || is(r, WS_CALLBACK_TIMER) {
            unsafe { ws_set_timer_usecs(wsi, 300_000) };
            send(wsi, TEXT, b"tick");
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.retry_and_idle_policy = &*p
    });
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 50) };
    }
    assert!(c.events(WS_CALLBACK_CLIENT_RECEIVE).len() >= 6);
    assert!(
        !c.has(WS_CALLBACK_CLIENT_RECEIVE_PONG),
        "no PING while data flows"
    );
}

#[test]
fn retry_delays_follow_lws() {
    let c = Ctx::new(CtxOpts::default());
    let table = [100u32, 200, 400];
    let retry = ws_retry_bo_t {
        retry_ms_table: table.as_ptr(),
        retry_ms_table_count: 3,
        conceal_count: 4,
        secs_since_valid_ping: 0,
        secs_since_valid_hangup: 0,
        jitter_percent: 10,
    };
    let mut ctry = 0u16;
    let mut conceal: c_char = 0;
    let mut got = Vec::new();
    for _ in 0..5 {
        let ms = unsafe { ws_retry_get_delay_ms(c.ctx, &retry, &mut ctry, &mut conceal) };
        got.push((ms, conceal));
    }
    for (i, base) in [100u32, 200, 400, 400, 400].iter().enumerate() {
        assert!(got[i].0 >= *base && got[i].0 <= base + base / 10, "{got:?}");
        assert_eq!(got[i].1, (i < 4) as c_char);
    }
    assert_eq!(ctry, 5);

    // ws_retry_sul_schedule schedules until the tries are used up.
    let mut sul: Box<ws_sorted_usec_list_t> = Box::new(unsafe { std::mem::zeroed() });
    let mut ctry = 0u16;
    for _ in 0..4 {
        assert_eq!(
            unsafe { ws_retry_sul_schedule(c.ctx, 0, &mut *sul, &retry, Some(job_cb), &mut ctry) },
            0
        );
    }
    assert_eq!(
        unsafe { ws_retry_sul_schedule(c.ctx, 0, &mut *sul, &retry, Some(job_cb), &mut ctry) },
        1
    );
    unsafe { ws_sul_cancel(&mut *sul) };
}

#[test]
fn rx_flow_control_holds_data_back_and_delivers_it_in_order() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            for i in 0..20 {
                send(wsi, TEXT, format!("m{i}").as_bytes());
            }
            unsafe { ws_rx_flow_control(wsi, 0) };
        }
        if is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            // Pause again after each message: the rest waits.
            unsafe { ws_rx_flow_control(wsi, WS_RXFLOW_REASON_APPLIES_DISABLE) };
        }
        None
    });
    let wsi = c.connect("127.0.0.1", srv.port, None, |_| {});
    let until = Instant::now() + Duration::from_millis(400);
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 20) };
    }
    assert!(c.has(WS_CALLBACK_CLIENT_ESTABLISHED));
    assert_eq!(
        c.events(WS_CALLBACK_CLIENT_RECEIVE).len(),
        0,
        "paused: nothing delivered"
    );
    for n in 1..=20 {
        assert_eq!(unsafe { ws_rx_flow_control(wsi, 1) }, 0);
        c.service_until(SECS5, |e| {
            e.iter()
                .filter(|e| is(e.reason, WS_CALLBACK_CLIENT_RECEIVE))
                .count()
                >= n
        });
        let until = Instant::now() + Duration::from_millis(5);
        while Instant::now() < until {
            unsafe { ws_service(c.ctx, 1) };
        }
        assert_eq!(
            c.events(WS_CALLBACK_CLIENT_RECEIVE).len(),
            n,
            "one message per resume"
        );
    }
    let got: Vec<String> = c
        .events(WS_CALLBACK_CLIENT_RECEIVE)
        .iter()
        .map(|e| e.text())
        .collect();
    assert_eq!(got, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
}

#[test]
fn ring_buffer_keeps_lws_semantics() {
    unsafe {
        let ring = ws_ring_create(8, 4, None);
        assert!(!ring.is_null());
        assert_eq!(ws_ring_get_count_free_elements(ring), 3);
        let src = *b"aaaaaaaabbbbbbbbccccccccdddddddd";
        assert_eq!(ws_ring_insert(ring, src.as_ptr().cast(), 4), 3);
        let mut tail = ws_ring_get_oldest_tail(ring);
        let e = ws_ring_get_element(ring, &mut tail) as *const u8;
        assert_eq!(std::slice::from_raw_parts(e, 8), b"aaaaaaaa");
        let mut out = [0u8; 16];
        assert_eq!(
            ws_ring_consume(ring, &mut tail, out.as_mut_ptr().cast(), 2),
            2
        );
        assert_eq!(&out, b"aaaaaaaabbbbbbbb");
        assert_eq!(ws_ring_get_count_free_elements(ring), 0);
        ws_ring_update_oldest_tail(ring, tail);
        assert_eq!(ws_ring_get_count_free_elements(ring), 2);
        assert_eq!(ws_ring_get_count_waiting_elements(ring, &mut tail), 1);
        ws_ring_destroy(ring);
        assert!(ws_ring_create(0, 4, None).is_null());
    }
}

#[test]
fn cmdline_option_matches_lws() {
    let args = ["prog", "-p", "7681", "--ssl", "--host=example", "-d1039"];
    let c: Vec<std::ffi::CString> = args
        .iter()
        .map(|a| std::ffi::CString::new(*a).unwrap())
        .collect();
    let argv: Vec<*const c_char> = c.iter().map(|a| a.as_ptr()).collect();
    let opt = |v: &CStr| {
        let p = unsafe { ws_cmdline_option(argv.len() as c_int, argv.as_ptr(), v.as_ptr()) };
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().to_string())
    };
    assert_eq!(opt(c"-p").as_deref(), Some("7681"));
    // As in lws, an exact match followed by another argument returns that argument.
    assert_eq!(opt(c"--ssl").as_deref(), Some("--host=example"));
    assert_eq!(opt(c"--host").as_deref(), Some("example"));
    assert_eq!(opt(c"-d").as_deref(), Some("1039"));
    assert_eq!(opt(c"--nope"), None);
    let mut r = [0u8; 32];
    let c2 = Ctx::new(CtxOpts::default());
    assert_eq!(
        unsafe { ws_get_random(c2.ctx, r.as_mut_ptr() as *mut c_void, 32) },
        32
    );
    assert!(r.iter().any(|&b| b != 0));
}

/// The soft limit on open files, from /proc.
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(1024)
}

#[test]
fn timers_stay_accurate_with_1000_busy_connections() {
    FIRED.with(|f| f.borrow_mut().clear());
    let conns = 1000.min(open_files_limit().saturating_sub(100));
    if conns < 1000 {
        eprintln!("open files limited: {conns} connections instead of 1000");
    }
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    // Every connection keeps one message in flight.
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) || is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            send(wsi, TEXT, b"0123456789abcdef0123456789abcdef");
        }
        None
    });
    for _ in 0..conns {
        c.connect("127.0.0.1", srv.port, None, |_| {});
    }
    c.service_until(Duration::from_secs(30), |e| {
        e.iter()
            .filter(|e| is(e.reason, WS_CALLBACK_CLIENT_ESTABLISHED))
            .count()
            == conns
    });
    let mut jobs: Vec<Box<Job>> = (0..40).map(Job::new).collect();
    for (i, j) in jobs.iter_mut().enumerate() {
        // Out of order on purpose: 40 timers between 20 ms and 1 s.
        schedule(&c, j, ((i * 7919) % 40) as i64 * 25_000 + 20_000);
    }
    // When each ws_service() call began: a timer must fire in the call
    // that follows the one during which it fell due, however long a call
    // takes (servicing 1,000 busy connections takes milliseconds in a
    // debug build, more on a loaded machine).
    let mut calls: Vec<Instant> = Vec::new();
    let start = Instant::now();
    while FIRED.with(|f| f.borrow().len()) < jobs.len() {
        assert!(start.elapsed() < Duration::from_secs(10));
        calls.push(Instant::now());
        unsafe { ws_service(c.ctx, 0) };
    }
    let fired = FIRED.with(|f| f.borrow().clone());
    let echoes = c.events(WS_CALLBACK_CLIENT_RECEIVE).len();
    let mut late: Vec<Duration> = Vec::new();
    for w in fired.windows(2) {
        assert!(w[0].1 <= w[1].1, "timers fired out of order");
    }
    let slack = Duration::from_millis(2);
    for (id, due, at) in &fired {
        assert!(at >= due, "timer {id} fired early");
        late.push(*at - *due);
        // The call it fired in, and the one before it.
        let k = calls.partition_point(|t| t <= at) - 1;
        let before = calls[k.saturating_sub(1)];
        assert!(
            *due + slack >= before,
            "timer {id} was due {:?} before the call ahead of the one that fired it began: \
             a whole ws_service() call passed without firing it",
            before - *due
        );
    }
    late.sort();
    let p50 = late[late.len() / 2];
    let max = *late.last().unwrap();
    let longest = calls
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    eprintln!(
        "{conns} busy connections, {echoes} echoes meanwhile, {} ws_service calls (longest {longest:?}): \
         timer lateness median {p50:?}, max {max:?}",
        calls.len()
    );
    assert!(echoes > conns, "the connections were busy");
    assert!(max < Duration::from_millis(500), "max lateness {max:?}");
}

#[test]
fn vhost_storage_protocol_options_and_writable_for_all() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let priv_ptr = std::rc::Rc::new(RefCell::new(std::ptr::null_mut::<c_void>()));
    let p2 = priv_ptr.clone();
    c.hook(move |wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            let vh = unsafe { ws_get_vhost(wsi) };
            let prot = unsafe { ws_get_protocol(wsi) };
            let mut p = p2.borrow_mut();
            if p.is_null() {
                *p = unsafe { ws_protocol_vh_priv_zalloc(vh, prot, 64) };
                assert!(!p.is_null());
                assert!(unsafe { std::slice::from_raw_parts(*p as *const u8, 64) }
                    .iter()
                    .all(|&b| b == 0));
            }
            assert_eq!(unsafe { ws_protocol_vh_priv_get(vh, prot) }, *p);
            let ctx = unsafe { ws_get_context(wsi) };
            assert_eq!(
                unsafe { ws_get_vhost_by_name(ctx, c"default".as_ptr()) },
                vh
            );
            assert!(unsafe { ws_get_vhost_by_name(ctx, c"other".as_ptr()) }.is_null());
            let name = unsafe { CStr::from_ptr(ws_get_vhost_name(vh)) };
            assert_eq!(name, c"default");
        }
        if is(r, WS_CALLBACK_CLIENT_WRITEABLE) {
            send(wsi, TEXT, b"all");
        }
        None
    });
    for _ in 0..3 {
        c.connect("127.0.0.1", srv.port, None, |_| {});
    }
    c.service_until(SECS5, |e| {
        e.iter()
            .filter(|e| is(e.reason, WS_CALLBACK_CLIENT_ESTABLISHED))
            .count()
            == 3
    });
    let prot = unsafe { ws_get_protocol(c.connect("127.0.0.1", 1, None, |_| {})) };
    assert_eq!(
        unsafe { ws_callback_on_writable_all_protocol(c.ctx, prot) },
        0
    );
    c.service_until(SECS5, |e| {
        e.iter()
            .filter(|e| is(e.reason, WS_CALLBACK_CLIENT_RECEIVE))
            .count()
            == 3
    });

    // Protocol options: a chain searched by name.
    let (n1, v1, n2, v2) = (c"alpha", c"1", c"beta", c"2");
    let second = ws_protocol_vhost_options {
        next: std::ptr::null(),
        options: std::ptr::null(),
        name: n2.as_ptr(),
        value: v2.as_ptr(),
    };
    let first = ws_protocol_vhost_options {
        next: &second,
        options: std::ptr::null(),
        name: n1.as_ptr(),
        value: v1.as_ptr(),
    };
    let found = unsafe { ws_pvo_search(&first, c"beta".as_ptr()) };
    assert_eq!(found, &second as *const _);
    assert!(unsafe { ws_pvo_search(&first, c"gamma".as_ptr()) }.is_null());
}
