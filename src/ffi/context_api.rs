//! Context functions: create, destroy, service, cancel, connect.

use std::ffi::{c_int, c_uint, c_void, CStr};
use std::time::Duration;

use super::callback::CCallbacks;
use super::handles::{self, opt_str, Shell};
use super::types::*;
use crate::callbacks::Opaque;
use crate::connection::{ConnectRequest, Names};
use crate::context::{Config, Context, ProtocolInfo};
use crate::handshake;
use crate::log;
use crate::proxy::ProxyConfig;
use crate::target::Target;

const DEFAULT_RX: usize = 4096;
const DEFAULT_TIMEOUT_SECS: u32 = 15;
const DEFAULT_CONNECT_TIMEOUT_SECS: u32 = 20;
const DEFAULT_MAX_MESSAGE: u64 = 64 << 20;

/// Creates a context from `info` (which is copied, along with the protocol
/// table; the protocol names and option strings must stay valid for the
/// context's life). As libwebsockets, it calls no callback itself:
/// `WS_CALLBACK_PROTOCOL_INIT` reaches every protocol, in table order, at
/// the first `ws_service()` or the first `ws_client_connect_via_info()`,
/// whichever comes first, so a callback may already use the handle this
/// returns; and the first `ws_service()` also delivers one
/// `WS_CALLBACK_EVENT_WAIT_CANCELLED` to every protocol, as lws' does.
///
/// Returns NULL, with a log line naming the cause, when `info` is NULL,
/// asks for something wsloop does not do (a listening port, a foreign event
/// loop other than libuv's, GLib's or libevent's, or one of those without
/// its cargo feature), names a CA, certificate or key that cannot be read or used, or a proxy
/// setting that cannot be used.
///
/// Proxies: `http_proxy_address` (`"[user:password@]host[:port]"`, the port
/// from `http_proxy_port` when the string has none) for HTTP CONNECT, or
/// `socks_proxy_address` (+ `socks_proxy_port`) for SOCKS5; when neither is
/// set, the environment variables `http_proxy`, `https_proxy`, `all_proxy`
/// and `no_proxy` are read, unless `options` has
/// `WS_SERVER_OPTION_IGNORE_PROXY_ENV`.
///
/// TLS needs no global initialisation (`WS_SERVER_OPTION_DO_SSL_GLOBAL_INIT`
/// is accepted and changes nothing); the system's CA certificates are read
/// when the first wss:// connection starts.
///
/// Nothing happens on the network until the application calls
/// `ws_service()` in a loop on this context.
#[no_mangle]
pub unsafe extern "C" fn ws_create_context(
    info: *const ws_context_creation_info,
) -> *mut ws_context {
    guard!("ws_create_context", std::ptr::null_mut(), {
        let Some(info) = info.as_ref() else {
            refuse!(std::ptr::null_mut(), "ws_create_context: info is NULL")
        };
        match create(info) {
            Ok(ctx) => ctx,
            Err(why) => refuse!(std::ptr::null_mut(), "ws_create_context: {why}"),
        }
    })
}

/// The proxy settings of the creation info, and the environment's unless ignored.
unsafe fn proxy_config(info: &ws_context_creation_info) -> Result<ProxyConfig, String> {
    let http = opt_str(info.http_proxy_address, "http_proxy_address")?;
    let socks = opt_str(info.socks_proxy_address, "socks_proxy_address")?;
    let port = |p: c_uint, what: &str| {
        u16::try_from(p).map_err(|_| format!("{what} {p} is not a TCP port (0 to 65535)"))
    };
    let http_port = port(info.http_proxy_port, "http_proxy_port")?;
    let socks_port = port(info.socks_proxy_port, "socks_proxy_port")?;
    let cfg = ProxyConfig::from_info(
        http.as_deref().map(|h| (h, http_port)),
        socks.as_deref().map(|s| (s, socks_port)),
        info.options & WS_SERVER_OPTION_IGNORE_PROXY_ENV != 0,
    )
    .map_err(|e| e.to_string())?;
    for problem in cfg.env.iter().flat_map(|e| &e.problems) {
        wlog!(log::WARN, "ws_create_context: {problem}; it is not used");
    }
    Ok(cfg)
}

unsafe fn create(info: &ws_context_creation_info) -> Result<*mut ws_context, String> {
    // lws' first line ("LWS: 4.1.6-, loglevel 7"): the log of a ported
    // program says which library it runs on.
    wlog!(
        log::NOTICE,
        "wsloop: {}, loglevel {}",
        env!("CARGO_PKG_VERSION"),
        log::mask()
    );
    if info.port > 0 {
        return Err(format!(
            "port {} asks for a listening server; wsloop is a client library: set port = WS_CONTEXT_PORT_NO_LISTEN",
            info.port
        ));
    }
    let foreign = super::foreign::check(info)?;
    if info.protocols.is_null() {
        return Err("protocols is NULL: give a table of ws_protocols ended by an entry with a NULL callback".into());
    }
    let deflate = super::deflate_api::offer(info)?;
    if info.ka_time != 0 {
        wlog!(
            log::WARN,
            "ws_create_context: TCP keepalive (ka_time) is not applied yet"
        );
    }
    let mut table = Vec::new();
    let mut p = info.protocols;
    while (*p).callback.is_some() {
        table.push(*p);
        p = p.add(1);
    }
    if table.is_empty() {
        return Err("the protocol table is empty: its first entry has a NULL callback".into());
    }
    let mut protocols = Vec::with_capacity(table.len());
    for (i, pr) in table.iter().enumerate() {
        let name = opt_str(pr.name, &format!("protocols[{i}].name"))?;
        protocols.push(ProtocolInfo {
            pvo: Opaque(find_pvo(info.pvo, name.as_deref()) as *mut c_void),
            name,
            per_session_data_size: pr.per_session_data_size,
            rx_buffer_size: pr.rx_buffer_size,
        });
    }
    let cfg = Config {
        protocols,
        pt_serv_buf_size: match info.pt_serv_buf_size {
            0 => DEFAULT_RX,
            n => n as usize,
        },
        timeout_secs: match info.timeout_secs {
            0 => DEFAULT_TIMEOUT_SECS,
            n => n,
        },
        connect_timeout_secs: match info.connect_timeout_secs {
            0 => DEFAULT_CONNECT_TIMEOUT_SECS,
            n => n,
        },
        max_message_size: match info.max_message_size {
            0 => DEFAULT_MAX_MESSAGE,
            n => n,
        },
        tls: super::tls_options::settings(info)?,
        retry: super::timer_api::policy(info.retry_and_idle_policy, "retry_and_idle_policy")?
            .unwrap_or_default(),
        raw_origin: info.options & WS_SERVER_OPTION_JUST_USE_RAW_ORIGIN != 0,
        proxy: proxy_config(info)?,
        deflate,
    };
    let (slot, gen) = handles::reserve().ok_or("too many contexts")?;
    let callbacks = CCallbacks::new(slot, &table);
    let core = Context::new(cfg, Box::new(callbacks)).map_err(|e| {
        handles::release(slot);
        format!("cannot create the poll loop: {e}")
    })?;
    let handle = handles::publish(Box::new(Shell {
        slot,
        gen,
        core,
        protocols: table.into_boxed_slice(),
        app_protocols: info.protocols,
        user: info.user,
        vh_privs: Default::default(),
    }));
    if let Some(s) = handles::shell(handle) {
        if info.wsloop_flags & super::service_api::WS_CONTEXT_EXTERNAL_POLL != 0 {
            s.core.enable_poll_callbacks();
        }
    }
    if let Some(f) = foreign {
        if let Err(e) = super::foreign::attach(handle, f) {
            ws_context_destroy(handle);
            return Err(e);
        }
    }
    // lws ends context creation with lws_cancel_service(): its first
    // service wakes at once and says EVENT_WAIT_CANCELLED to every protocol.
    handles::cancel(handle);
    Ok(handle)
}

/// The pvo entry whose name is the protocol's, or NULL.
unsafe fn find_pvo(
    mut pvo: *const ws_protocol_vhost_options,
    name: Option<&str>,
) -> *const ws_protocol_vhost_options {
    let Some(name) = name else {
        return std::ptr::null();
    };
    while let Some(p) = pvo.as_ref() {
        if !p.name.is_null() && CStr::from_ptr(p.name).to_bytes() == name.as_bytes() {
            return p.options;
        }
        pvo = p.next;
    }
    std::ptr::null()
}

/// Destroys the context: every connection gets `WS_CALLBACK_CLIENT_CLOSED`
/// (or `..._CLIENT_CONNECTION_ERROR` if it was not established) and
/// `WS_CALLBACK_WSI_DESTROY`, then every protocol
/// `WS_CALLBACK_PROTOCOL_DESTROY` (none when the context was never serviced
/// nor connected: no protocol had `WS_CALLBACK_PROTOCOL_INIT` then), and all
/// memory is freed. The handle is invalid afterwards; a second call is
/// refused with a log line. Calling it from inside a callback is refused (log
/// line, nothing destroyed): leave the service loop, then destroy.
#[no_mangle]
pub unsafe extern "C" fn ws_context_destroy(context: *mut ws_context) {
    guard!("ws_context_destroy", (), {
        if context.is_null() {
            return;
        }
        let Some(s) = handles::any_shell(context) else {
            refuse!(
                (),
                "ws_context_destroy: not a live context (destroyed twice?)"
            )
        };
        if s.core.in_callback() {
            refuse!(
                (),
                "ws_context_destroy called from inside a callback: refused; set a flag, leave the ws_service() loop, then destroy"
            );
        }
        super::foreign::detach(context);
        s.core.destroy();
        drop(handles::retire(s.slot));
    })
}

/// Runs one iteration of the context's loop in the calling thread: waits for
/// network events and timers, then delivers their callbacks.
///
/// - `timeout_ms < 0`: handle what is ready and return without waiting.
/// - `timeout_ms == 0`: wait until the next event or scheduled timer (lws' meaning).
/// - `timeout_ms > 0`: wait at most that many milliseconds (lws ignores this).
///
/// Returns 0, or -1 once the context is unusable (or the handle is not a live
/// context). Must not be called from inside a callback.
#[no_mangle]
pub unsafe extern "C" fn ws_service(context: *mut ws_context, timeout_ms: c_int) -> c_int {
    guard!(
        "ws_service",
        -1,
        ctx = super::handles::any_shell(context),
        {
            let Some(s) = handles::shell(context) else {
                refuse!(-1, "ws_service: not a live context")
            };
            let timeout = match timeout_ms {
                n if n < 0 => Some(Duration::ZERO),
                0 => None,
                n => Some(Duration::from_millis(n as u64)),
            };
            match s.core.service(timeout) {
                Ok(()) => 0,
                Err(_) => -1,
            }
        }
    )
}

/// Wakes the context's loop; every protocol then receives
/// `WS_CALLBACK_EVENT_WAIT_CANCELLED` on the loop thread. The one function
/// that is safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn ws_cancel_service(context: *mut ws_context) {
    guard!("ws_cancel_service", (), {
        if !handles::cancel(context) {
            refuse!((), "ws_cancel_service: not a live context");
        }
    })
}

/// The `user` pointer given in the creation info.
#[no_mangle]
pub unsafe extern "C" fn ws_context_user(context: *mut ws_context) -> *mut c_void {
    guard!(
        "ws_context_user",
        std::ptr::null_mut(),
        ctx = super::handles::any_shell(context),
        {
            match handles::shell(context) {
                Some(s) => s.user,
                None => refuse!(std::ptr::null_mut(), "ws_context_user: not a live context"),
            }
        }
    )
}

/// Starts a client connection. Returns its handle (also stored in
/// `*i->pwsi`), or NULL only for invalid arguments, with a log line saying
/// which. Every failure after that, DNS included, arrives as
/// `WS_CALLBACK_CLIENT_CONNECTION_ERROR` from `ws_service()`. May be called
/// from inside a callback. The first call on a context that was not
/// serviced yet delivers `WS_CALLBACK_PROTOCOL_INIT` to every protocol
/// before it does anything else, as libwebsockets does.
#[no_mangle]
pub unsafe extern "C" fn ws_client_connect_via_info(i: *const ws_client_connect_info) -> *mut ws {
    guard!(
        "ws_client_connect_via_info",
        std::ptr::null_mut(),
        ctx = i
            .as_ref()
            .and_then(|i| super::handles::any_shell(i.context)),
        {
            let Some(i) = i.as_ref() else {
                refuse!(
                    std::ptr::null_mut(),
                    "ws_client_connect_via_info: info is NULL"
                )
            };
            match connect(i) {
                Ok(wsi) => wsi,
                Err(why) => {
                    if let Some(p) = i.pwsi.as_mut() {
                        *p = std::ptr::null_mut();
                    }
                    refuse!(std::ptr::null_mut(), "ws_client_connect_via_info: {why}")
                }
            }
        }
    )
}

unsafe fn connect(i: &ws_client_connect_info) -> Result<*mut ws, String> {
    let s = handles::shell(i.context)
        .ok_or("context is not a live context (NULL, destroyed, or not from ws_create_context)")?;
    // As lws: the first connect, when it comes before the first service,
    // initialises the protocols first.
    s.core.init_protocols();
    let address = opt_str(i.address, "address")?
        .filter(|a| !a.is_empty())
        .ok_or("address is NULL or empty")?;
    let unsupported = [
        (!i.method.is_null(), "method (HTTP client requests)"),
        (!i.parent_wsi.is_null(), "parent_wsi"),
        (
            !i.uri_replace_from.is_null() || !i.uri_replace_to.is_null(),
            "uri_replace_from/to",
        ),
        (!i.iface.is_null(), "iface (binding to an interface)"),
        (i.local_port != 0, "local_port"),
        (!i.seq.is_null(), "seq (sequencers)"),
        (!i.mqtt_cp.is_null(), "mqtt_cp (MQTT)"),
        (
            !i.auth_username.is_null() || !i.auth_password.is_null(),
            "auth_username/auth_password",
        ),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(set, _)| *set) {
        return Err(format!("{what} is not supported"));
    }
    let use_ssl = i.ssl_connection & WS_LCCSCF_USE_SSL != 0;
    let default_port = if use_ssl { 443 } else { 80 };
    let port = match i.port {
        0 => default_port,
        p if (1..=65535).contains(&p) => p as u16,
        p => return Err(format!("port {p} is out of range")),
    };
    let path = opt_str(i.path, "path")?.unwrap_or_else(|| "/".into());
    let target = Target::parse(&address, port).map_err(|e| e.to_string())?;
    let host = match opt_str(i.host, "host")? {
        Some(h) => h,
        None if matches!(target, Target::Unix(_)) => target.default_host_header(use_ssl),
        None if port == default_port => address.clone(),
        None if address.contains(':') && !address.starts_with('[') => format!("[{address}]:{port}"),
        None => format!("{address}:{port}"),
    };
    let protocol = opt_str(i.protocol, "protocol")?;
    let local = opt_str(i.local_protocol_name, "local_protocol_name")?;
    let names: Vec<Option<String>> = s
        .core
        .cfg
        .protocols
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let bind_name = local.clone().or_else(|| protocol.clone());
    let protocol_index = match &bind_name {
        Some(n) => match names.iter().position(|p| p.as_deref() == Some(n.as_str())) {
            Some(ix) => ix,
            None => {
                if local.is_some() || names.len() > 1 {
                    wlog!(
                        log::WARN,
                        "ws_client_connect_via_info: no protocol named '{n}' in the table; binding to protocols[0] '{}' (set local_protocol_name to the entry whose callbacks should run)",
                        names[0].as_deref().unwrap_or("")
                    );
                }
                0
            }
        },
        None => 0,
    };
    let tls = super::tls_options::request(i.ssl_connection, &host, i.alpn)?;
    let req = ConnectRequest {
        names: Names::new(
            &address,
            &path,
            &host,
            opt_str(i.origin, "origin")?
                .map(|o| handshake::origin_value(&o, s.core.cfg.raw_origin))
                .as_deref(),
            protocol.as_deref(),
        ),
        port,
        protocol_index,
        userdata: Opaque(i.userdata),
        opaque_user_data: Opaque(i.opaque_user_data),
        pwsi: Opaque(i.pwsi.cast()),
        require_subprotocol: i.wsloop_flags & WS_CONNECT_REQUIRE_SUBPROTOCOL != 0,
        no_deflate: i.wsloop_flags & WS_CONNECT_NO_PERMESSAGE_DEFLATE != 0,
        tls: tls.map(Box::new),
        retry: super::timer_api::policy(i.retry_and_idle_policy, "retry_and_idle_policy")?
            .map(std::rc::Rc::new),
        follow_redirects: i.ssl_connection & WS_LCCSCF_HTTP_NO_FOLLOW_REDIRECT == 0,
        reconnect: i.wsloop_flags & WS_CONNECT_RECONNECT != 0,
    };
    let id = s.core.connect(req)?;
    let wsi = handles::wsi_handle(s.slot, id.index, id.gen);
    if let Some(p) = i.pwsi.as_mut() {
        *p = wsi;
    }
    Ok(wsi)
}

/// The default handler: returns 0 for every reason. End a protocol callback
/// with `return ws_callback_http_dummy(wsi, reason, user, in, len);`.
#[no_mangle]
pub unsafe extern "C" fn ws_callback_http_dummy(
    wsi: *mut ws,
    reason: ws_callback_reasons,
    user: *mut c_void,
    in_: *mut c_void,
    len: usize,
) -> c_int {
    let _ = (wsi, reason, user, in_, len);
    0
}
