//! Generates the C headers from the Rust source into OUT_DIR: `wsloop.h`
//! (cbindgen) and `wsloop/lws-compat.h` (libwebsockets' names for every
//! `ws_`/`WS_` name in it). The committed copies under `include/` are
//! checked against them by `tests/header.rs`; set WSLOOP_UPDATE_HEADER=1 to
//! write them there as well. Also gives the shared library its SONAME.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=WSLOOP_UPDATE_HEADER");
    // The shared library's SONAME: programs linked to it load
    // libwsloop.so.MAJOR, the name scripts/install gives a link to the
    // versioned file. (Which symbols it exports is rustc's choice for a
    // cdylib: the #[no_mangle] functions only; tests/abi.rs checks the list.)
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets it");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwsloop.so.{major}");
    }
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut header = Vec::new();
    bindings.write(&mut header);
    let header = String::from_utf8(header).expect("the header is UTF-8");
    let compat = compat_header(&header);
    let mut targets = vec![out_dir.clone()];
    if std::env::var_os("WSLOOP_UPDATE_HEADER").is_some() {
        targets.push(crate_dir.join("include"));
    }
    for dir in targets {
        std::fs::create_dir_all(dir.join("wsloop")).expect("include dir");
        std::fs::write(dir.join("wsloop.h"), &header).expect("write wsloop.h");
        std::fs::write(dir.join("wsloop/lws-compat.h"), &compat).expect("write lws-compat.h");
    }
}

/// libwebsockets calls a client may use that wsloop refuses at compile time,
/// with the reason and the alternative (only while wsloop has no `ws_` twin).
const REFUSED: &[(&str, &str)] = &[
    ("lws_uv_getloop", "wsloop owns no libuv loop: pass yours in foreign_loops with LWS_SERVER_OPTION_LIBUV (cargo feature libuv), or watch lws_get_poll_fd()"),
    ("lws_get_peer_addresses", "wsloop does no reverse DNS: use lws_get_peer_simple()"),
    ("lws_hdr_fragment_length", "wsloop keeps each response header whole: use lws_hdr_total_length()"),
    ("lws_http_client_read", "HTTP client requests (connect info .method) are not supported by wsloop"),
    ("lws_client_http_body_pending", "HTTP client requests (connect info .method) are not supported by wsloop"),
    ("lws_set_proxy", "proxies are not supported by wsloop yet"),
    ("lws_set_socks", "proxies are not supported by wsloop yet"),
    ("lws_get_parent", "wsloop connections have no parent or child connections"),
    ("lws_get_child", "wsloop connections have no parent or child connections"),
    ("lws_client_reset", "connect again with lws_client_connect_via_info(), e.g. from lws_retry_sul_schedule_retry_wsi()"),
    ("lws_ws_sending_multifragment", "not in wsloop yet: track the WS_WRITE_NO_FIN fragments you wrote"),
    ("lws_get_urlarg_by_name", "a server call: wsloop is a client library"),
    ("lws_is_cgi", "a server call: wsloop is a client library"),
    ("lws_get_udp", "UDP is not supported by wsloop"),
    ("lws_set_allocator", "wsloop allocates with Rust's allocator; it cannot be replaced"),
];

/// libwebsockets' name for one of ours, or None to leave it out.
fn lws_name(ours: &str) -> Option<String> {
    const KEEP_PREFIX: [&str; 6] = [
        "LCCSCF_",
        "LLL_",
        "WSI_TOKEN_",
        "PENDING_TIMEOUT",
        "NO_PENDING_TIMEOUT",
        "CONTEXT_PORT_NO_LISTEN",
    ];
    // wsloop's own extensions have no libwebsockets name.
    if ours.starts_with("ws_sender")
        || ours.starts_with("WS_SENDER_")
        || ours.starts_with("ws_reconnect")
        || ours.starts_with("WS_CALLBACK_CLIENT_RECONNECT")
        || ours == "WS_CONNECT_RECONNECT"
        || ours == "WS_WRITE_RECONNECTING"
        || ours.ends_with("_stats")
    {
        return None;
    }
    match ours {
        "ws" => Some("lws".into()),
        // A pointer typedef here; lws' is a function type, defined by hand.
        "ws_callback_function" => None,
        // Defined by hand: it also asks for lws' external-poll callbacks.
        "ws_create_context" => None,
        "ws_sul_cb_t" => Some("sul_cb_t".into()),
        "ws_hexdump_level" => Some("lwsl_hexdump_level".into()),
        _ if ours.starts_with("wsl_") => Some(format!("l{ours}")),
        _ if ours.starts_with("ws_") => Some(format!("l{ours}")),
        _ if ours.starts_with("WS_") => {
            let rest = &ours[3..];
            if KEEP_PREFIX.iter().any(|p| rest.starts_with(p)) {
                Some(rest.to_string())
            } else {
                Some(format!("LWS_{rest}"))
            }
        }
        _ => None,
    }
}

fn compat_header(header: &str) -> String {
    let mut names = BTreeSet::new();
    let mut word = String::new();
    for ch in strip_comments(header).chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            word.push(ch);
        } else if !word.is_empty() {
            names.insert(std::mem::take(&mut word));
        }
    }
    let mut out = String::from(
        "/*
 * lws-compat.h: libwebsockets' client API names on wsloop.
 *
 * Generated by build.rs from wsloop.h: do not edit; run
 * `WSLOOP_UPDATE_HEADER=1 cargo build` to regenerate.
 *
 * Port a libwebsockets client by changing one line,
 *     #include <libwebsockets.h>   ->   #include <wsloop/lws-compat.h>
 * and linking wsloop instead of libwebsockets. Every lws_/LWS_/LCCSCF_/LLL_
 * name below maps to wsloop's; `struct lws` is `struct ws`. What wsloop does
 * not have is not defined here, so it fails at compile time, and what it
 * refuses (server roles, foreign loops, proxies) fails at the call with a
 * log line naming the feature.
 *
 * Differences in behaviour are listed in wsloop's README (Porting).
 */
#ifndef WSLOOP_LWS_COMPAT_H
#define WSLOOP_LWS_COMPAT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/types.h>
#include <sys/time.h>
#include <unistd.h>
#endif

#include \"../wsloop.h\"

/* lws' callback type is a function type: `static lws_callback_function cb;` */
typedef int lws_callback_function(struct ws *wsi, enum ws_callback_reasons reason,
                                  void *user, void *in, size_t len);
#define lws_wsi_close(w, to_kill) ws_set_timeout(w, 1, to_kill)

/* As an lws built with LWS_WITH_EXTERNAL_POLL: protocols[0] gets
 * ADD_POLL_FD / DEL_POLL_FD for the context's one descriptor. */
static inline struct ws_context *lws_create_context(const struct ws_context_creation_info *info)
{
    struct ws_context_creation_info i;
    if (!info)
        return ws_create_context(info);
    i = *info;
    i.wsloop_flags |= WS_CONTEXT_EXTERNAL_POLL;
    return ws_create_context(&i);
}

",
    );
    for ours in &names {
        if ours.ends_with('_') {
            continue;
        }
        if let Some(theirs) = lws_name(ours) {
            if theirs != *ours && !names.contains(&theirs) {
                out.push_str(&format!("#define {theirs} {ours}\n"));
            }
        }
    }
    out.push_str(
        "\n/* libwebsockets calls wsloop does not have: using one stops the build with\n * a message saying why and what to use instead. */\n",
    );
    for (theirs, why) in REFUSED {
        let ours = format!("ws_{}", &theirs[4..]);
        if !names.contains(&ours) {
            out.push_str(&format!(
                "#define {theirs}(...) (_Pragma(\"GCC error \\\"{theirs}: {why}\\\"\") 0)\n"
            ));
        }
    }
    out.push_str("\n#endif /* WSLOOP_LWS_COMPAT_H */\n");
    out
}

/// The header without its /* */ and // comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.map_or(true, |l| b < l) => {
                out.push_str(&rest[..b]);
                rest = rest[b + 2..].split_once("*/").map_or("", |(_, r)| r);
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].split_once('\n').map_or("", |(_, r)| r);
                out.push('\n');
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}
