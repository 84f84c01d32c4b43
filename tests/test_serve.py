"""``adcli serve``: the JSON API over HTTP against a running server on 127.0.0.1, its limits,
its refusals (a foreign Host or Origin, paths outside its files, bodies too large), and
the command itself (its address, Ctrl-C, its errors).

The answers are checked against the library the command line uses: the server computes
nothing of its own.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autodiff_cli import computation_graph, grad, parse, trace
from autodiff_cli.cli import app
from autodiff_cli.errors import AdcliError
from autodiff_cli.language.parser import parse_constant
from autodiff_cli.optimize.descent import DescentConfig, descend
from autodiff_cli.optimize.optimizers import OPTIMIZERS
from autodiff_cli.render.json import graph_dict, jsonable, trace_dict
from autodiff_cli.render.svg import graph_svg
from autodiff_cli.web.endpoints import LIMITS
from autodiff_cli.web.server import is_loopback, make_server

from .browser import running_server
from .test_language import doubling_functions

Answer = tuple[int, dict[str, str], Any]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    with running_server({"expression": "sin(x)+x*y", "point": {"x": 1.0, "y": 2.0}}) as url:
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/", url)
        assert match, url
        yield "127.0.0.1", int(match.group(1))


def send(server: tuple[str, int], method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, host: str | None = "default") -> Answer:
    """One request with exactly these headers (Host too: ``None`` sends none)."""
    address, port = server
    connection = http.client.HTTPConnection(address, port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host == "default":
            host = f"127.0.0.1:{port}"
        if host is not None:
            connection.putheader("Host", host)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        if body is not None and "Content-Length" not in (headers or {}):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        raw = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        kind = answer_headers.get("content-type", "")
        data: Any = json.loads(raw) if kind.startswith("application/json") else raw
        return response.status, answer_headers, data
    finally:
        connection.close()


def post(server: tuple[str, int], name: str, data: Any, **headers: str) -> Answer:
    return send(server, "POST", f"/api/{name}", json.dumps(data).encode(),
                {"Content-Type": "application/json", **headers})


def ok(answer: Answer) -> Any:
    status, _, data = answer
    assert status == 200, data
    return data


def error_of(answer: Answer, status: int = 400) -> dict[str, Any]:
    got, _, data = answer
    assert got == status, data
    return dict(data["error"])


def roundtrip(value: Any) -> Any:
    """What a value becomes through the server's JSON."""
    return json.loads(json.dumps(jsonable(value)))


# ---------------------------------------------------------------- the page's files


class References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("src", "href") and value:
                self.found.append(value)


def test_the_page_and_every_file_it_names_are_served_from_the_package(server: tuple[str, int]) -> None:
    status, headers, page = send(server, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    parser = References()
    parser.feed(page.decode())
    assert {"/static/app.js", "/static/style.css", "/static/favicon.svg"} <= set(parser.found)
    for reference in parser.found:
        assert reference.startswith("/static/"), "the page fetches nothing from elsewhere"
        status, headers, body = send(server, "GET", reference)
        assert status == 200 and body, reference
    assert send(server, "GET", "/static/app.js")[1]["content-type"].startswith("text/javascript")


def test_the_page_needs_nothing_from_the_network() -> None:
    static = Path(__file__).resolve().parent.parent / "autodiff_cli" / "web" / "static"
    for path in static.iterdir():
        text = path.read_text(encoding="utf-8")
        # The SVG namespace is a name, not an address that is fetched.
        addresses = set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", text)) - {
            "http://www.w3.org/2000/svg"}
        assert not addresses, f"{path.name} names {addresses}"
        assert "@import" not in text and "url(" not in text.replace("url(#arrow)", "")


@pytest.mark.parametrize("path", [
    "/static/../server.py", "/static/%2e%2e/server.py", "/../autodiff_cli/web/server.py",
    "/static/..%2fserver.py", "//etc/passwd", "/static/", "/static", "/etc/passwd",
    "/static/app.js/..", "/static/./app.js", "/web/server.py", "/server.py", "/static/%00",
    "/static/app.js%00.html", "/static\\..\\server.py", "/api/../static/app.js",
])
def test_no_path_reaches_a_file_outside_the_pages_own(server: tuple[str, int], path: str) -> None:
    status, _, body = send(server, "GET", path)
    assert status == 404
    assert body["error"]["kind"] == "NotFound"


def test_a_query_string_does_not_change_the_file(server: tuple[str, int]) -> None:
    assert send(server, "GET", "/static/style.css?v=1")[2] == send(server, "GET", "/static/style.css")[2]


# ---------------------------------------------------------------- where requests come from


@pytest.mark.parametrize("host", [
    "evil.example:{port}", "attacker.localhost.example:{port}", "127.0.0.1.nip.io:{port}",
    "127.0.0.1:{other}", "localhost:{other}", "127.0.0.1", "10.0.0.1:{port}", "[::2]:{port}",
    "", "127.0.0.1:{port}@evil.example", "evil.example@127.0.0.1:{port}", "127.0.0.1:{port}/evil",
    "127.0.0.1:{port}?x", "127.0.0.1:{port}#x", "127.0.0.1:+{port}",
])
def test_a_request_naming_another_host_is_refused(server: tuple[str, int], host: str) -> None:
    header = host.format(port=server[1], other=server[1] + 1)
    for method, path in (("GET", "/"), ("GET", "/api/info")):
        error = error_of(send(server, method, path, host=header), 403)
        assert error["kind"] == "ForeignHost"
    error = error_of(send(server, "POST", "/api/parse", b'{"expression": "x"}',
                          {"Content-Type": "application/json"}, host=header), 403)
    assert error["kind"] == "ForeignHost"


def test_a_request_without_a_host_is_refused(server: tuple[str, int]) -> None:
    error = error_of(send(server, "GET", "/", host=None), 403)
    assert error["kind"] == "ForeignHost" and "a request without a Host header" in error["message"]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_the_servers_own_names_are_accepted(server: tuple[str, int], host: str) -> None:
    status, _, _ = send(server, "GET", "/", host=host.format(port=server[1]))
    assert status == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1",
                                    "https://127.0.0.1:{port}", "http://127.0.0.1:{port}.evil.example"])
def test_a_request_from_another_origin_is_refused(server: tuple[str, int], origin: str) -> None:
    header = origin.format(port=server[1])
    error = error_of(post(server, "evaluate", {"expression": "x", "point": {"x": 1}}, Origin=header), 403)
    assert error["kind"] == "ForeignOrigin"


def test_a_request_from_the_page_itself_is_answered(server: tuple[str, int]) -> None:
    data = ok(post(server, "evaluate", {"expression": "x*x", "point": {"x": 3}},
                   Origin=f"http://127.0.0.1:{server[1]}"))
    assert data["gradient"] == {"x": 6.0}


def test_wider_addresses_are_not_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("evil")


@pytest.mark.parametrize("host", ["0.0.0.0", ""])
def test_every_interface_is_shown_as_an_address_a_browser_opens(host: str) -> None:
    server = make_server(host)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/"
    finally:
        server.server_close()


# ---------------------------------------------------------------- bodies


def test_a_body_larger_than_the_limit_is_refused_unread(server: tuple[str, int]) -> None:
    # The declared length is refused before the body is read: this client never sends it.
    error = error_of(send(server, "POST", "/api/parse", b"", {
        "Content-Type": "application/json", "Content-Length": str(LIMITS.body_bytes + 1)}), 413)
    assert error["kind"] == "TooLarge"
    big = json.dumps({"expression": "x+" * LIMITS.body_bytes + "x"}).encode()
    assert error_of(send(server, "POST", "/api/parse", big, {"Content-Type": "application/json"}), 413)


@pytest.mark.parametrize("headers, body, status", [
    ({"Content-Type": "text/plain"}, b'{"expression": "x"}', 415),
    ({}, b'{"expression": "x"}', 415),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"expression=x", 415),
    ({"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, b"", 411),
    ({"Content-Type": "application/json", "Content-Length": "-5"}, b"", 411),
    ({"Content-Type": "application/json"}, b"{not json", 400),
    ({"Content-Type": "application/json"}, b"\xff\xfe", 400),
    ({"Content-Type": "application/json"}, b'["x"]', 400),
    ({"Content-Type": "application/json"}, b"[" * 30_000 + b"]" * 30_000, 400),
])
def test_a_body_that_is_not_a_json_object_is_refused(server: tuple[str, int], headers: dict[str, str],
                                                     body: bytes, status: int) -> None:
    assert send(server, "POST", "/api/parse", body, headers)[0] == status


def test_unknown_endpoints_and_methods(server: tuple[str, int]) -> None:
    assert error_of(post(server, "exec", {"expression": "x"}), 404)["kind"] == "NotFound"
    for method, path in (("PUT", "/api/parse"), ("DELETE", "/"), ("OPTIONS", "/api/info"), ("PATCH", "/")):
        status, headers, data = send(server, method, path, b"{}", {"Content-Type": "application/json"})
        assert status == 405 and headers["allow"] == "GET, HEAD, POST"
        assert data["error"]["kind"] == "MethodNotAllowed"
    # ... after the same checks as every request
    status, _, data = send(server, "PUT", "/", b"{}", {"Content-Type": "application/json"},
                           host="evil.example:1")
    assert status == 403 and data["error"]["kind"] == "ForeignHost"


def test_a_request_target_must_be_a_path(server: tuple[str, int]) -> None:
    """The absolute form (GET http://elsewhere/api/info) is a proxy's request, not the page's."""
    error = error_of(send(server, "GET", "http://evil.example/api/info"), 400)
    assert "ask for a path on this server" in error["message"]


@pytest.mark.parametrize("length", ["+2", "2_0", " 2x", "-1", "0x13"])
def test_a_content_length_must_be_digits(server: tuple[str, int], length: str) -> None:
    status, _, _ = send(server, "POST", "/api/parse", b'{"expression": "x"}',
                        {"Content-Type": "application/json", "Content-Length": length})
    assert status == 411


def test_two_content_lengths_are_refused(server: tuple[str, int]) -> None:
    address, port = server
    with socket.create_connection((address, port), timeout=10) as connection:
        body = b'{"expression": "x"}'
        connection.sendall(b"POST /api/parse HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                           b"Content-Length: 5\r\n\r\n%s" % (port, len(body), body))
        assert connection.recv(100).startswith(b"HTTP/1.1 411")


@pytest.mark.parametrize("name, data, fragment", [
    ("parse", {}, "the request has no 'expression'"),
    ("parse", {"expression": 3}, "'expression' must be text"),
    ("evaluate", {"expression": "x", "point": [1]}, "'point' must be an object"),
    ("evaluate", {"expression": "x", "point": {"x": [1]}}, "the value of 'x' must be a number or text"),
    ("evaluate", {"expression": "x", "point": {"x": True}}, "the value of 'x' must be a number or text"),
    ("evaluate", {"expression": "x", "point": {"x": "__import__('os')"}}, "is not a number or constant"),
    ("evaluate", {"expression": "x", "point": {}}, "no value for variable 'x'"),
    ("evaluate", {"expression": "x", "point": {"x": 1, "y": 2}}, "has no variable 'y'"),
    ("trace", {"expression": "x", "point": {"x": 1}, "layout": "yes"}, "'layout' must be true or false"),
    ("descend", {"expression": "x^2", "start": {"x": 1}, "optimizer": "newton"}, "unknown optimizer"),
    ("descend", {"expression": "x^2", "start": {"x": 1}, "steps": 0}, "between 1 and"),
    ("descend", {"expression": "x^2", "start": {"x": 1}, "steps": 1.5}, "whole number"),
    ("descend", {"expression": "x^2", "start": {"x": 1}, "settings": {"lr": "big"}}, "finite number"),
    ("descend", {"expression": "x^2", "start": {"x": 1}, "settings": {"momentum": 0.9}},
     "sgd takes no momentum"),
    ("contour", {"expression": "x*y", "point": {"x": 1, "y": 1}, "x": "x", "y": "x",
                 "x_range": [0, 1], "y_range": [0, 1]}, "two different variables"),
    ("contour", {"expression": "x*y", "point": {"x": 1, "y": 1}, "x": "x", "y": "y",
                 "x_range": [1, 0], "y_range": [0, 1]}, "low < high"),
])
def test_a_mistaken_request_is_answered_with_what_is_wrong(server: tuple[str, int], name: str,
                                                           data: dict[str, Any], fragment: str) -> None:
    assert fragment in error_of(post(server, name, data))["message"]


# ---------------------------------------------------------------- the endpoints


def test_info_lists_the_optimizers_the_limits_and_the_start(server: tuple[str, int]) -> None:
    data = ok(send(server, "GET", "/api/info"))
    assert set(data["optimizers"]) == set(OPTIMIZERS)
    assert data["optimizers"]["adam"]["defaults"] == OPTIMIZERS["adam"].defaults
    assert data["limits"]["steps"] == LIMITS.steps
    assert data["start"] == {"expression": "sin(x)+x*y", "point": {"x": 1.0, "y": 2.0}}


def test_parse_names_the_variables_and_the_intermediates(server: tuple[str, int]) -> None:
    data = ok(post(server, "parse", {"expression": "u = x*y; f(a) = a^2; f(u) + z"}))
    assert data["variables"] == ["x", "y", "z"] and data["names"] == ["u"]


@pytest.mark.parametrize("text", ["sin(x+", "sinn(x) + 2", "atan2(x)", "x = 1; x = 2; x",
                                  "y = 2*x\nz = y +\nz"])
def test_an_error_in_the_expression_is_the_message_the_command_line_prints(
        server: tuple[str, int], text: str) -> None:
    error = error_of(post(server, "parse", {"expression": text}))
    with pytest.raises(AdcliError) as raised:
        parse(text)
    assert error["kind"] == type(raised.value).__name__
    assert error["message"] == str(raised.value)
    printed = CliRunner().invoke(app, ["grad", text, "--x", "1"])
    assert printed.exit_code == 2
    assert "error: " + error["message"] == printed.output.strip()  # the caret lines included
    start, end = raised.value.start, raised.value.end  # type: ignore[attr-defined]
    assert (error["start"], error["end"]) == (start, start + 1 if end is None else end)
    assert error["message"].splitlines()[-1].strip(" ").startswith("^")


def test_evaluate_is_grad(server: tuple[str, int]) -> None:
    data = ok(post(server, "evaluate", {"expression": "sin(x)+x*y", "point": {"x": 1, "y": "pi/4"}}))
    expected = grad("sin(x)+x*y", x=1, y="pi/4")
    assert data["value"] == expected.value and data["gradient"] == expected.gradient
    assert data["point"]["y"] == math.pi / 4
    some = ok(post(server, "evaluate", {"expression": "x*y", "point": {"x": 2, "y": 3}, "wrt": ["y"]}))
    assert some["gradient"] == {"y": 2.0}


def test_non_finite_numbers_are_strings(server: tuple[str, int]) -> None:
    data = ok(post(server, "evaluate", {"expression": "log(x) + y", "point": {"x": -1, "y": "inf"}}))
    assert data["value"] == "nan" and data["point"]["y"] == "inf"
    assert data["nonfinite"].startswith("log(-1.0)")


@pytest.mark.parametrize("text, point", [
    ("sin(x)+x*y", {"x": 1.0, "y": 2.0}),
    ("u = x*y; sin(u) + u", {"x": 1.0, "y": 2.0}),
    ("z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); h + q + q*x", {"x": -2.0}),
    ("loss(p, q) = (p - q)^2 / 2; loss(sigmoid(w*x + b), t)", {"w": 0.5, "x": 1.0, "b": 0.1, "t": 1.0}),
])
def test_trace_is_the_graph_and_the_trace_the_command_line_prints(
        server: tuple[str, int], text: str, point: dict[str, float]) -> None:
    data = ok(post(server, "trace", {"expression": text, "point": point, "layout": True}))
    assert data["graph"] == roundtrip(graph_dict(computation_graph(text, point)))
    assert data["trace"] == roundtrip(trace_dict(trace(text, point)))
    assert data["gradient"] == grad(text, point).gradient
    laid = {node["id"] for node in data["layout"]["nodes"]}
    assert laid == {node["id"] for node in data["graph"]["nodes"]}
    assert len(data["layout"]["edges"]) == len(data["graph"]["edges"])


def test_each_adjoint_is_the_chain_rules_sum_over_its_uses(server: tuple[str, int]) -> None:
    data = ok(post(server, "trace", {"expression": "x*x + sin(x)*y", "point": {"x": 0.5, "y": 3}}))
    nodes = {node["id"]: node for node in data["graph"]["nodes"]}
    for node_id, entry in data["chain_rule"].items():
        assert entry["adjoint"] == nodes[node_id]["gradient"]
        if entry["seed"]:
            assert node_id == data["graph"]["output"] and entry["adjoint"] == 1.0 and not entry["terms"]
            continue
        for term in entry["terms"]:
            assert term["product"] == term["consumer_adjoint"] * term["local_partial"]
            assert term["consumer_adjoint"] == nodes[term["consumer"]]["gradient"]
        assert math.isclose(math.fsum(t["product"] for t in entry["terms"]), entry["adjoint"],
                            rel_tol=1e-15, abs_tol=1e-300)
    # x*x is one node used twice by one product: two terms, x each, summing to 2x.
    x_square = next(n for n in data["graph"]["nodes"] if n["definition"] == "w1·w1")
    terms = [t for t in data["chain_rule"]["w1"]["terms"] if t["consumer"] == x_square["id"]]
    assert [t["argument"] for t in terms] == [0, 1]
    assert [t["product"] for t in terms] == [0.5 * nodes[x_square["id"]]["gradient"]] * 2


def test_the_layout_holds_still_while_the_values_move(server: tuple[str, int]) -> None:
    ask = {"expression": "sin(x)+x*y", "layout": True}
    one = ok(post(server, "trace", {**ask, "point": {"x": 1, "y": 2}}))
    other = ok(post(server, "trace", {**ask, "point": {"x": 123.456789012345, "y": -0.000123456789}}))
    assert one["layout"] == other["layout"]
    assert "layout" not in ok(post(server, "trace", {"expression": "x", "point": {"x": 1}}))


def test_svg_is_the_picture_adcli_graph_draws(server: tuple[str, int]) -> None:
    status, headers, body = post(server, "svg", {"expression": "sin(x)+x*y", "point": {"x": 1, "y": 2}})
    assert status == 200 and headers["content-type"] == "image/svg+xml"
    assert "attachment" in headers["content-disposition"]
    assert body.decode() == graph_svg(computation_graph("sin(x)+x*y", x=1, y=2))


def test_contour_is_the_compiled_function_on_a_grid(server: tuple[str, int]) -> None:
    data = ok(post(server, "contour", {"expression": "x^2 + 3*y + z", "point": {"x": 0, "y": 0, "z": 5},
                                       "x": "x", "y": "y", "x_range": [-1, 1], "y_range": [0, 2],
                                       "size": 3}))
    assert data["xs"] == [-1.0, 0.0, 1.0] and data["ys"] == [0.0, 1.0, 2.0]
    assert data["values"] == [[6.0, 5.0, 6.0], [9.0, 8.0, 9.0], [12.0, 11.0, 12.0]]
    error = error_of(post(server, "contour", {"expression": "x*y", "point": {"x": 1, "y": 1}, "x": "x",
                                              "y": "y", "x_range": [0, 1], "y_range": [0, 1],
                                              "size": LIMITS.grid + 1}))
    assert "between 2 and" in error["message"]
    error = error_of(post(server, "contour", {"expression": "x+y", "point": {"x": 1, "y": 1}, "x": "x",
                                              "y": "y", "x_range": [-1e308, 1e308], "y_range": [0, 1]}))
    assert "'x_range' is too wide" in error["message"]


ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"


def test_descend_takes_the_steps_adcli_descend_takes(server: tuple[str, int]) -> None:
    data = ok(post(server, "descend", {"expression": ROSENBROCK, "start": {"x": -1.5, "y": 2},
                                       "optimizer": "adam", "settings": {"lr": 0.05}, "steps": 300}))
    expected, _ = descend(parse(ROSENBROCK), {"x": -1.5, "y": 2.0}, ("x", "y"),
                          DescentConfig(optimizer="adam", hyper={"lr": 0.05}, steps=300))
    assert data["point"] == expected.point and data["value"] == expected.value
    assert data["step"] == 300 and data["stop_reason"] == "steps" and not data["finished"]
    assert data["record_fields"] == ["step", "loss", "grad_norm", "x", "y"]
    assert data["records"][0] == [0, 12.5, data["records"][0][2], -1.5, 2.0]
    assert data["records"][-1][0] == 300
    assert data["records"][-1][3:] == [expected.point["x"], expected.point["y"]]


def test_a_run_in_several_requests_is_one_run(server: tuple[str, int]) -> None:
    # Momentum's state carries over: the server replays the run, so two requests of 50
    # steps are the steps of one request of 100.
    ask = {"expression": ROSENBROCK, "start": {"x": -1.5, "y": 2}, "optimizer": "momentum"}
    whole = ok(post(server, "descend", {**ask, "steps": 100}))
    first = ok(post(server, "descend", {**ask, "steps": 50}))
    second = ok(post(server, "descend", {**ask, "done": 50, "steps": 50}))
    assert first["records"] + second["records"] == whole["records"]
    assert second["point"] == whole["point"]


def test_a_run_ends_when_it_converges(server: tuple[str, int]) -> None:
    data = ok(post(server, "descend", {"expression": "(x-3)^2", "start": {"x": 0},
                                       "settings": {"lr": 0.5}, "steps": 1000}))
    assert data["finished"] and data["stop_reason"] == "converged" and data["point"] == {"x": 3.0}
    assert len(data["records"]) <= LIMITS.records


@pytest.mark.parametrize("done, steps", [(0, 500), (0, 998), (0, 999), (0, 10_000), (7, 499), (1, 10_000)])
def test_a_request_gets_at_most_the_records_the_limit_allows(server: tuple[str, int], done: int,
                                                              steps: int) -> None:
    data = ok(post(server, "descend", {"expression": "x^2", "start": {"x": 1}, "steps": steps,
                                       "done": done, "tol": 0}))
    kept = [r[0] for r in data["records"]]
    assert len(kept) <= LIMITS.records and kept[-1] == done + steps and kept == sorted(set(kept))
    assert kept[0] == (0 if done == 0 else kept[0]) and kept[0] >= done


def test_a_run_that_stops_at_its_start_records_it_once(server: tuple[str, int]) -> None:
    data = ok(post(server, "descend", {"expression": "x^2", "start": {"x": 0}, "steps": 5}))
    assert data["records"] == [[0, 0.0, 0.0, 0.0]] and data["stop_reason"] == "converged"


def test_values_are_parsed_within_the_page_s_limit(server: tuple[str, int]) -> None:
    """A value may be a constant expression, with functions: one that doubles its body past the
    page's node limit is refused at once, as an expression would be."""
    names = "abcdfghjkmnqr"
    lines = ["a(t)=t*t+t", *(f"{b}(t)={a}({a}(t))" for a, b in itertools.pairwise(names))]
    value = ";".join([*lines, "r(1)"])
    assert len(value) <= 200 and parse_constant(value) > 0  # (a constant, of 2^12 copies of a's body)
    error = error_of(post(server, "evaluate", {"expression": "x", "point": {"x": value}}))
    assert "is not a number or constant expression" in error["message"]
    assert f"more than {LIMITS.nodes:,} nodes" in error["message"]


# ---------------------------------------------------------------- bounded work


def test_a_huge_expression_is_refused_before_the_work(server: tuple[str, int]) -> None:
    # 100,000 nodes do not fit in a request...
    text = " + ".join(f"sin(x{i % 50})" for i in range(33_334))
    assert error_of(post(server, "parse", {"expression": text}), 413)["kind"] == "TooLarge"
    # ... and a short text that would make 2^40 nodes is stopped at the call that goes past the limit.
    error = error_of(post(server, "trace", {"expression": doubling_functions(40), "point": {"x": 1}}))
    assert error["kind"] == "ExpressionSizeError" and "more than 2,000 nodes" in error["message"]
    error = error_of(post(server, "parse", {"expression": "x" * (LIMITS.expression_chars + 1)}))
    assert "at most 10,000" in error["message"]


def test_a_million_step_descent_is_refused(server: tuple[str, int]) -> None:
    ask = {"expression": ROSENBROCK, "start": {"x": -1.5, "y": 2}}
    assert "between 1 and 10,000" in error_of(post(server, "descend", {**ask, "steps": 1_000_000}))["message"]
    assert "at most 1,000,000 steps" in error_of(
        post(server, "descend", {**ask, "done": 999_999, "steps": 2}))["message"]
    big = " + ".join(f"sin(x{i})*x{i}" for i in range(300))
    error = error_of(post(server, "descend", {"expression": big, "start": {f"x{i}": 0.1 for i in range(300)},
                                              "done": 100_000, "steps": 10}))
    assert "too long for one request" in error["message"]


def test_a_slow_client_does_not_hold_up_the_others(server: tuple[str, int]) -> None:
    # A client that sends its headers and part of its body, then nothing: its thread waits,
    # the others are answered.
    slow = socket.create_connection(server, timeout=30)
    try:
        slow.sendall(b"POST /api/parse HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"expr" % server[1])
        assert ok(post(server, "evaluate", {"expression": "x*x", "point": {"x": 2}}))["value"] == 4.0
    finally:
        slow.close()


def test_a_long_computation_does_not_hold_up_the_others(server: tuple[str, int]) -> None:
    # The longest descent one request may ask for (a 401-node graph, a run of the most
    # node-steps allowed: about a second), and meanwhile a parse, answered before it ends.
    terms = " + ".join(f"sin(x{i})*x{(i + 1) % 100}" for i in range(100))
    nodes = ok(post(server, "parse", {"expression": terms}))["nodes"]
    total = LIMITS.descent_work // nodes
    started, finished = threading.Event(), threading.Event()
    answers: list[Answer] = []

    def long_one() -> None:
        started.set()
        start = {f"x{i}": 0.1 for i in range(100)}
        answers.append(post(server, "descend", {"expression": terms, "start": start,
                                                "done": total - 10, "steps": 10, "tol": 0}))
        finished.set()

    thread = threading.Thread(target=long_one)
    thread.start()
    started.wait()
    try:
        quick = ok(post(server, "parse", {"expression": "sin(x)"}))
        assert quick["variables"] == ["x"]
        assert not finished.is_set(), "the long request ended before the quick one was answered"
    finally:
        thread.join(60)
    assert ok(answers[0])["step"] == total


# ---------------------------------------------------------------- the command


def test_serve_prints_its_address_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("DISPLAY", None)
    process = subprocess.Popen([sys.executable, "-m", "autodiff_cli", "serve", "x*x + y", "--x", "3",
                                "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"adcli serve: http://127\.0\.0\.1:(\d+)/  \(Ctrl-C stops it\)\n", line)
        assert match, line
        address = ("127.0.0.1", int(match.group(1)))
        info = ok(send(address, "GET", "/api/info"))
        assert info["start"] == {"expression": "x*x + y", "point": {"x": 3.0, "y": 1.0}}
        assert b"<title>adcli" in send(address, "GET", "/")[2]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "stopped" in err


def test_serve_checks_the_expression_before_it_starts() -> None:
    result = CliRunner().invoke(app, ["serve", "sin(x+", "--no-browser"])
    assert result.exit_code == 2
    assert result.output.startswith("error: the expression ends too soon")
    result = CliRunner().invoke(app, ["serve", "x*y", "--z", "1", "--no-browser"])
    assert result.exit_code == 2 and "no variable 'z'" in result.output


def test_serve_warns_when_it_listens_beyond_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from autodiff_cli.web import server as web_server

    class Stub:
        host, url = "0.0.0.0", "http://127.0.0.1:1/"

        def serve_forever(self) -> None:
            raise KeyboardInterrupt

        def server_close(self) -> None:
            pass

    monkeypatch.setattr(web_server, "make_server", lambda *args: Stub())
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--no-browser"])
    assert result.exit_code == 130
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine" in result.output


def test_a_port_in_use_is_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--no-browser"])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1 port {port}" in result.output



def test_a_burst_of_requests_waits_for_a_slot_instead_of_being_reset(server: tuple[str, int]) -> None:
    """A hundred requests at once: each is answered (200, or 503 after waiting for a slot),
    none is reset by a full listen queue (the standard library's is 5)."""
    count = 100
    barrier = threading.Barrier(count)
    statuses: list[int | str] = []

    def one() -> None:
        barrier.wait()
        try:
            statuses.append(post(server, "evaluate", {"expression": "x*x", "point": {"x": 3}})[0])
        except OSError as error:
            statuses.append(type(error).__name__)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == count and set(statuses) <= {200, 503}, sorted(map(str, statuses))


@pytest.mark.parametrize("data, message", [
    ({"free": "x"}, "'free' must be a list or null, not text"),
    ({"steps": "10"}, "'steps' must be a number, not text"),
])
def test_type_errors_name_json_types(server: tuple[str, int], data: dict[str, Any], message: str) -> None:
    """The message names JSON's types (null), not Python's (NoneType)."""
    error = error_of(post(server, "descend", {"expression": "x^2", "start": {"x": 1}, **data}))
    assert error["message"] == message
