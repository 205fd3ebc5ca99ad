#!/usr/bin/python3
"""A REST upstream that answers every session POST after a fixed delay.

bench/inflight.sh puts thousands of gateway calls in flight against an
upstream that takes 500 ms per request. nginx cannot delay an answer, and
session-sandbox (cpp-httplib) holds one thread per connection, accepts with
a listen backlog of 5 and polls idle keep-alive connections every 10 ms, so
with thousands of connections it measures itself rather than the gateway.
This server is one asyncio thread: a sleeping request costs a coroutine,
the backlog is 4096, connections are kept alive.

    slow_upstream.py [--delay_ms=500] [--port=0]

Prints `listening on 127.0.0.1:PORT` once it accepts. Every POST gets 200
with the docs' small CreateSession JSON after the delay; `GET /stats`
answers at once with `max_in_flight accepted requests`: the most requests
it held at the same time, connections accepted and requests answered.
HTTP/1.1 only, Content-Length bodies only (what the gateway sends).
"""

import argparse
import asyncio
import signal

ANSWER = (b'{"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR",'
          b'"status_code":200,"response_body":{"sessionId":"12345"}}')


class Stats:
    in_flight = 0
    max_in_flight = 0
    accepted = 0
    requests = 0


def response(status, body, keep_alive):
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
    return head.encode() + body


async def serve(reader, writer, delay):
    Stats.accepted += 1
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = (lines[0].split(" ") + ["", "", ""])[:3]
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(length)
            keep_alive = headers.get("connection", "").lower() != "close"
            if method == "GET" and path == "/stats":
                body = f"{Stats.max_in_flight} {Stats.accepted} {Stats.requests}\n".encode()
                writer.write(response("200 OK", body, keep_alive))
            elif method == "POST":
                Stats.in_flight += 1
                Stats.max_in_flight = max(Stats.max_in_flight, Stats.in_flight)
                try:
                    await asyncio.sleep(delay)
                finally:
                    Stats.in_flight -= 1
                Stats.requests += 1
                writer.write(response("200 OK", ANSWER, keep_alive))
            else:
                writer.write(response("405 Method Not Allowed", b"{}", keep_alive))
            await writer.drain()
            if not keep_alive:
                return
    except ConnectionError:
        return
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay_ms", type=int, default=500)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    delay = args.delay_ms / 1000
    server = await asyncio.start_server(lambda r, w: serve(r, w, delay), "127.0.0.1", args.port,
                                        backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
