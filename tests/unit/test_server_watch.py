"""The watch on a build's Prefect server, against real sockets: a port nobody listens on,
and a real HTTP server that answers (even 404 counts: the server is there)."""
from __future__ import annotations

import http.server
import threading

from luisy.server_watch import ServerWatch, answers
from luisy.testing.server import free_port


def test_a_port_nobody_listens_on_is_refused_and_lost_after_the_grace():
    url = f"http://127.0.0.1:{free_port()}/api"
    problem, refused = answers(url, timeout=2)
    assert refused and "ConnectionRefusedError" in problem
    lost = threading.Event()
    messages: list[str] = []
    watch = ServerWatch(url, grace=0.3, interval=0.05)
    watch.on_lost(lambda message: (messages.append(message), lost.set()))
    watch.start()
    try:
        assert lost.wait(10)
    finally:
        watch.stop()
    assert messages == [watch.lost]
    assert url in messages[0] and "stopped answering" in messages[0]
    late: list[str] = []
    watch.on_lost(late.append)  # given after the loss: called at once
    assert late == messages


def test_any_http_answer_means_the_server_is_there():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:  # the handler answers 501 to GET: not a health check, but an answer
        assert answers(f"http://127.0.0.1:{server.server_port}/api", timeout=2) == (None,
                                                                                    False)
    finally:
        server.shutdown()
