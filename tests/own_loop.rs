//! A loop that watches only `ws_get_poll_fd()` and sleeps at most
//! `ws_get_poll_timeout_ms()` misses nothing: a timer, a
//! `ws_cancel_service()` from another thread, work queued from outside
//! `ws_service()`, or more deferred work than one iteration does. Each test
//! runs under poll(2) (level-triggered) and under epoll with EPOLLET
//! (edge-triggered). The loop never sleeps longer than CAP; a context that
//! broke the rule would make it sleep CAP and the test fail on LIMIT.

mod common;

use std::ffi::c_int;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const CAP: c_int = 5000;
const LIMIT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug)]
enum Outer {
    Poll,
    EdgeEpoll,
}

/// An outer loop around one context's descriptor.
struct Loop {
    fd: c_int,
    epoll: Option<c_int>,
}

impl Loop {
    fn new(ctx: *mut ws_context, outer: Outer) -> Loop {
        let fd = unsafe { ws_get_poll_fd(ctx) };
        assert!(fd >= 0);
        let epoll = match outer {
            Outer::Poll => None,
            Outer::EdgeEpoll => unsafe {
                let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
                assert!(ep >= 0);
                let mut ev = libc::epoll_event {
                    events: (libc::EPOLLIN | libc::EPOLLET) as u32,
                    u64: 1,
                };
                assert_eq!(libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev), 0);
                Some(ep)
            },
        };
        Loop { fd, epoll }
    }

    /// One round of the contract: wait for the descriptor or the timeout
    /// (at most CAP), then ws_service(ctx, -1).
    fn turn(&self, ctx: *mut ws_context) {
        self.turn_after(ctx, || {});
    }

    /// A round in which `handler` runs after the timeout was read, as an
    /// application's own handler does in a loop that re-arms its timer only
    /// after ws_service(): the wait uses the timeout read before it.
    /// Fails when the wait took LIMIT or more.
    fn turn_after(&self, ctx: *mut ws_context, handler: impl FnOnce()) {
        let t = unsafe { ws_get_poll_timeout_ms(ctx) };
        let t = if t < 0 { CAP } else { t.min(CAP) };
        handler();
        let start = Instant::now();
        self.wait(t);
        assert!(
            start.elapsed() < LIMIT,
            "the loop slept {:?} on work queued before its wait",
            start.elapsed()
        );
        assert_eq!(unsafe { ws_service(ctx, -1) }, 0);
    }

    fn wait(&self, t: c_int) {
        unsafe {
            match self.epoll {
                None => {
                    let mut p = libc::pollfd {
                        fd: self.fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    libc::poll(&mut p, 1, t);
                }
                Some(ep) => {
                    let mut ev = [libc::epoll_event { events: 0, u64: 0 }; 4];
                    libc::epoll_wait(ep, ev.as_mut_ptr(), 4, t);
                }
            }
        }
    }

    /// Turns until `done`, failing after LIMIT.
    fn until(&self, c: &Ctx, what: &str, mut done: impl FnMut(&Ctx) -> bool) -> Duration {
        let start = Instant::now();
        while !done(c) {
            assert!(
                start.elapsed() < LIMIT,
                "{what}: not done within {LIMIT:?}: the loop slept on work it was not told about; events {:?}",
                c.reasons()
            );
            self.turn(c.ctx);
        }
        start.elapsed()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        if let Some(ep) = self.epoll {
            unsafe { libc::close(ep) };
        }
    }
}

const OUTERS: [Outer; 2] = [Outer::Poll, Outer::EdgeEpoll];

static FIRED: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn fired(_sul: *mut ws_sorted_usec_list_t) {
    FIRED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_timer_is_never_missed() {
    for outer in OUTERS {
        let c = Ctx::new(CtxOpts::default());
        let l = Loop::new(c.ctx, outer);
        let mut sul: ws_sorted_usec_list_t = unsafe { std::mem::zeroed() };
        let before = FIRED.load(Ordering::SeqCst);
        let start = Instant::now();
        // Scheduled from outside ws_service(), after the loop read a
        // timeout of "nothing scheduled".
        l.turn_after(c.ctx, || unsafe {
            ws_sul_schedule(c.ctx, 0, &mut sul, Some(fired), 200_000)
        });
        l.until(&c, "timer", |_| FIRED.load(Ordering::SeqCst) > before);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(195),
            "{outer:?}: fired early, after {took:?}"
        );
        // Nothing else is scheduled now: the timeout says so.
        assert_eq!(unsafe { ws_get_poll_timeout_ms(c.ctx) }, -1, "{outer:?}");
    }
}

#[test]
fn cancel_service_from_another_thread_wakes_the_loop() {
    for outer in OUTERS {
        let c = Ctx::new(CtxOpts::default());
        let l = Loop::new(c.ctx, outer);
        let ctx = c.ctx as usize;
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            unsafe { ws_cancel_service(ctx as *mut ws_context) };
        });
        l.until(&c, "ws_cancel_service", |c| {
            c.has(WS_CALLBACK_EVENT_WAIT_CANCELLED)
        });
        t.join().unwrap();
    }
}

#[test]
fn work_queued_outside_service_wakes_the_loop() {
    for outer in OUTERS {
        let srv = Server::node("echo");
        let c = Ctx::new(CtxOpts::default());
        let l = Loop::new(c.ctx, outer);
        // The connect itself is queued from outside ws_service().
        let wsi = c.connect("127.0.0.1", srv.port, None, |_| {});
        l.until(&c, "connect", |c| c.has(WS_CALLBACK_CLIENT_ESTABLISHED));
        c.hook(|wsi, r, _, _| {
            if r == WS_CALLBACK_CLIENT_WRITEABLE as i32 {
                send(wsi, 0, b"from outside");
            }
            None
        });
        // From the application's own handler: nothing in the context is
        // due, so only the descriptor can bring the loop back.
        l.turn_after(c.ctx, || {
            assert_eq!(unsafe { ws_callback_on_writable(wsi) }, 1);
        });
        l.until(&c, "ws_callback_on_writable from outside", |c| {
            c.has(WS_CALLBACK_CLIENT_RECEIVE)
        });
        assert_eq!(
            c.events(WS_CALLBACK_CLIENT_RECEIVE)[0].text(),
            "from outside"
        );
    }
}

/// A server that completes the upgrade, then reads and discards everything:
/// no event comes from it to wake the client.
fn sink_server() -> u16 {
    raw_server(|mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        let mut buf = [0u8; 65536];
        while std::io::Read::read(&mut s, &mut buf).unwrap_or(0) > 0 {}
    })
}

#[test]
fn more_deferred_work_than_one_iteration_does_is_not_left_waiting() {
    const MESSAGES: usize = 3000;
    for outer in OUTERS {
        let port = sink_server();
        let c = Ctx::new(CtxOpts::default());
        let l = Loop::new(c.ctx, outer);
        let sent = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let n = sent.clone();
        // Each CLIENT_WRITEABLE writes and asks for the next one: far more
        // deferred work than one iteration runs, and the sink never answers.
        c.hook(move |wsi, r, _, _| {
            let r = r as u32;
            if r == WS_CALLBACK_CLIENT_ESTABLISHED as u32
                || r == WS_CALLBACK_CLIENT_WRITEABLE as u32
            {
                if r == WS_CALLBACK_CLIENT_WRITEABLE as u32 {
                    send(wsi, 1, b"0123456789");
                    n.set(n.get() + 1);
                }
                if n.get() < MESSAGES {
                    unsafe { ws_callback_on_writable(wsi) };
                }
            }
            None
        });
        c.connect("127.0.0.1", port, None, |_| {});
        l.until(&c, "chained CLIENT_WRITEABLE", |_| sent.get() == MESSAGES);
    }
}
