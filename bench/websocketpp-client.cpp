/*
 * The WebSocket++ peer: client.c's traffic (same options, payloads, checks
 * and result line, see common.h) on WebSocket++'s Asio transport without
 * TLS, in the single-threaded configuration its config reference
 * describes: the asio_client config with the `none` concurrency policy and
 * enable_multithreading = false (no strands, no locks), on one io_context
 * run by one thread (asio-client.hpp). permessage-deflate stays disabled
 * (the config's default), access logging is off, TCP_NODELAY is set on
 * every socket.
 *
 *   websocketpp-client [client.c's options]
 *
 * WebSocket++ queues what send() is given, so a connection tops its window
 * up when traffic starts and after each echo. Exits 0 only if every
 * connection came up and every echo matched.
 */
#include "asio-client.hpp"

#include <websocketpp/client.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <vector>

struct single_thread_client : websocketpp::config::asio_client {
    typedef single_thread_client type;
    typedef websocketpp::config::asio_client base;

    typedef websocketpp::concurrency::none concurrency_type;
    typedef websocketpp::log::basic<concurrency_type, websocketpp::log::elevel> elog_type;
    typedef websocketpp::log::basic<concurrency_type, websocketpp::log::alevel> alog_type;
    typedef websocketpp::random::random_device::int_generator<uint32_t, concurrency_type> rng_type;
    static bool const enable_multithreading = false;

    struct transport_config : base::transport_config {
        typedef type::concurrency_type concurrency_type;
        typedef type::elog_type elog_type;
        typedef type::alog_type alog_type;
        static bool const enable_multithreading = false;
    };
    typedef websocketpp::transport::asio::endpoint<transport_config> transport_type;
};

typedef websocketpp::client<single_thread_client> client_t;

struct session {
    client_t::connection_ptr con;
    window win;

    /* Fills the window: when traffic starts and after each echo. */
    void send(void)
    {
        while (win.open()) {
            /* WebSocket++ masks a copy: the pattern stays intact. */
            websocketpp::lib::error_code ec =
                con->send(expected(win.sent, 0), o.size, websocketpp::frame::opcode::binary);
            if (ec)
                return win.failed("send", ec.message());
            win.sent++;
        }
    }

    void attach(void)
    {
        con->set_tcp_pre_init_handler([this](websocketpp::connection_hdl) {
            error_code ec;
            con->get_raw_socket().set_option(net::ip::tcp::no_delay(true), ec);
        });
        con->set_open_handler([this](websocketpp::connection_hdl) { win.established_now(); });
        con->set_fail_handler([this](websocketpp::connection_hdl) { win.failed("connect", con->get_ec().message()); });
        con->set_close_handler([this](websocketpp::connection_hdl) { win.failed("close", "closed by the peer"); });
        con->set_message_handler([this](websocketpp::connection_hdl, client_t::message_ptr msg) {
            const std::string &p = msg->get_payload();
            if (win.echo(p.data(), p.size()))
                send();
        });
    }
};

int main(int argc, char **argv)
{
    parse_opts(argc, argv);
    make_pattern();

    /* The sessions outlive the endpoint, whose connections call into them. */
    std::vector<session> sessions((size_t)o.conns);
    client_t client;
    client.clear_access_channels(websocketpp::log::alevel::all);
    client.clear_error_channels(websocketpp::log::elevel::all);
    client.set_error_channels(websocketpp::log::elevel::rerror | websocketpp::log::elevel::fatal);
    websocketpp::lib::error_code ec;
    client.init_asio(&ioc, ec);
    if (ec) {
        fprintf(stderr, "bench: WebSocket++ init_asio failed: %s\n", ec.message().c_str());
        return 1;
    }
    auto uri_of = [](int i) {
        return "ws://" + std::string(conn_address(i)) + ":" + std::to_string(o.port) + "/";
    };
    return run_client(
        "websocketpp",
        [&]() {
            for (size_t i = 0; i < sessions.size(); i++) {
                session &s = sessions[i];
                const std::string uri = uri_of((int)i);
                s.con = client.get_connection(uri, ec);
                if (ec) {
                    s.win.failed("connect", uri + ": " + ec.message());
                    continue;
                }
                s.attach();
                client.connect(s.con);
            }
        },
        [&](int i, bool idle) {
            sessions[i].win.idle = idle;
            sessions[i].send();
        });
}
