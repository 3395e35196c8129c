/*
 * The Boost.Beast peer: client.c's traffic (same options, payloads, checks
 * and result line, see common.h) written the way Beast is meant to be used
 * for it: one io_context run by one thread (asio-client.hpp), plain TCP
 * sockets with TCP_NODELAY, asynchronous connect, handshake, reads and
 * writes, binary messages sent whole (auto_fragment(false)), and
 * permessage-deflate compiled out (the stream's deflateSupported = false).
 *
 *   beast-client [client.c's options] [--write-buffer BYTES]
 *
 * --write-buffer sets write_buffer_bytes(): the buffer a client masks its
 * payload into before each write to the socket (Beast's default is 4096,
 * so a 1 MiB message takes 256 writes). With 65536 it prints
 * lib=beast-64k, otherwise lib=beast.
 *
 * Every connection keeps one async_read() pending, idle ones too. Beast
 * allows one write in progress per stream, so a connection with room in
 * its window writes its next message when the previous write completes or
 * an echo comes back. Exits 0 only if every connection came up and every
 * echo matched.
 */
#include "asio-client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <memory>
#include <vector>

namespace websocket = boost::beast::websocket;
using net::ip::tcp;

class session {
  public:
    explicit session(size_t write_buffer) : ws_(ioc)
    {
        ws_.auto_fragment(false);
        ws_.binary(true);
        if (write_buffer)
            ws_.write_buffer_bytes(write_buffer);
    }

    void connect(const tcp::endpoint &to, const std::string &host)
    {
        ws_.next_layer().async_connect(to, [this, host](error_code ec) {
            if (ec)
                return win.failed("connect", ec.message());
            ws_.next_layer().set_option(tcp::no_delay(true), ec);
            ws_.async_handshake(host, "/", [this](error_code ec) {
                if (ec)
                    return win.failed("handshake", ec.message());
                read();
                win.established_now();
            });
        });
    }

    /* Writes the next message if the window has room and no write is in
     * progress: when traffic starts, after each write, after each echo. */
    void send(void)
    {
        if (writing_ || !win.open())
            return;
        writing_ = true;
        /* Beast masks a copy in its write buffer: the pattern stays intact. */
        ws_.async_write(net::buffer(expected(win.sent, 0), o.size), [this](error_code ec, size_t) {
            writing_ = false;
            if (ec)
                return win.failed("write", ec.message());
            send();
        });
        win.sent++;
    }

    window win;

  private:
    void read(void)
    {
        ws_.async_read(rx_, [this](error_code ec, size_t n) {
            if (ec)
                return win.failed("read", ec.message());
            if (!win.echo(rx_.data().data(), n))
                return;
            rx_.consume(n);
            send();
            read();
        });
    }

    websocket::stream<tcp::socket, false> ws_;
    boost::beast::flat_buffer rx_;
    bool writing_ = false;
};

int main(int argc, char **argv)
{
    /* --write-buffer BYTES, anywhere; the rest are client.c's options */
    size_t write_buffer = 0;
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--write-buffer") && i + 1 < argc) {
            write_buffer = (size_t)atol(argv[++i]);
            if (write_buffer < 8) {
                fprintf(stderr, "bench: --write-buffer %s: Beast needs at least 8 bytes\n", argv[i]);
                return 2;
            }
        } else {
            argv[kept++] = argv[i];
        }
    }
    parse_opts(kept, argv);
    make_pattern();

    error_code ec;
    std::vector<tcp::endpoint> to; /* one per -A address */
    for (int k = 0; k < o.addrs; k++) {
        to.emplace_back(net::ip::make_address(conn_address(k), ec), (unsigned short)o.port);
        if (ec) {
            fprintf(stderr, "bench: %s is not an IP address: %s\n", conn_address(k), ec.message().c_str());
            return 2;
        }
    }
    std::vector<std::unique_ptr<session>> sessions;
    return run_client(
        write_buffer == 65536 ? "beast-64k" : "beast",
        [&]() {
            for (int i = 0; i < o.conns; i++) {
                sessions.emplace_back(new session(write_buffer));
                sessions.back()->connect(to[i % o.addrs],
                                         std::string(conn_address(i)) + ":" + std::to_string(o.port));
            }
        },
        [&](int i, bool idle) {
            sessions[i]->win.idle = idle;
            sessions[i]->send();
        });
}
