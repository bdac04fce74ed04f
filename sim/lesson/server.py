"""The lesson's local web server (Flask): the page, and a JSON API that re-simulates the train
when a lever moves.

``GET /`` serves the page; ``POST /api/journey`` with ``{"seed": N, "levers": {name: value}}``
answers the journey of that seed and those levers, or status 400 with ``{"error": "..."}``
naming what is wrong (the page shows it; the server keeps serving). Journeys are pure
functions of (scenario, seed, levers), so answers are cached.
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

from ..scenario import Scenario, ScenarioError
from .journey import LeverError, check_levers, lever_values, run_levers
from .page import API, config, render

MAX_SEED = 2**32 - 1
CACHE = 256  # journeys kept (about 35 kB each)
MAX_REQUEST = 16_384  # bytes


class Journeys:
    """Journeys of one scenario by (seed, levers), simulated on demand and kept (LRU)."""

    def __init__(self, scenario: Scenario, step: float = 0.5):
        self.scenario, self.step = scenario, step
        self._cache: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, seed: Any, levers: Any) -> dict[str, Any]:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise LeverError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
        values = check_levers(levers)
        key = (seed, tuple(sorted(values.items())))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        out = run_levers(self.scenario, seed, values, self.step)
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        return out


def make_app(scenario: Scenario, seed: int, lang: str | None = None,
             log: Callable[[str], None] | None = None) -> Flask:
    """The Flask app of a lesson on ``scenario`` starting from ``seed``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST  # a lever request is a few hundred bytes
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    journeys = Journeys(scenario)
    first = journeys.get(seed, {})
    page = render(config("server", seed, lever_values(scenario), first, lang))

    @app.get("/")
    def index() -> Response:
        return Response(page, mimetype="text/html")

    @app.post("/" + API)
    def journey() -> tuple[Response, int] | Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error="the request must be a JSON object {\"seed\": N, \"levers\": {name: value}}"), 400
        unknown = set(body) - {"seed", "levers"}
        if unknown:
            return jsonify(error=f"unknown field(s) {', '.join(sorted(map(str, unknown)))}: "
                                 "send only seed and levers"), 400
        try:
            out = journeys.get(body.get("seed", seed), body.get("levers", {}))
        except (LeverError, ScenarioError) as e:
            if log:
                log(f"refused: {e}")
            return jsonify(error=str(e)), 400
        return jsonify(out)

    @app.errorhandler(404)
    def not_found(_e) -> tuple[Response, int]:
        return jsonify(error=f"nothing at {request.path}: the lesson is at /"), 404

    @app.errorhandler(405)
    def not_allowed(_e) -> tuple[Response, int]:
        return jsonify(error=f"{request.method} is not allowed at {request.path}"), 405

    @app.errorhandler(413)
    def too_large(_e) -> tuple[Response, int]:
        return jsonify(error=f"the request is larger than {MAX_REQUEST} bytes: send only seed and levers"), 413

    @app.errorhandler(500)
    def failed(_e) -> tuple[Response, int]:
        return jsonify(error="the server could not simulate this setting (see the console)"), 500

    return app


def listen(host: str, port: int):
    """A socket bound to (host, port) and listening; OSError (e.g. the port is in use) otherwise."""
    import socket

    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if hasattr(socket, "SO_REUSEADDR") and sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after Ctrl-C
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: Flask, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Serve ``app`` until Ctrl-C. The socket is bound first, by us: a port in use raises
    OSError before anything is printed; ``ready`` gets the address once the socket listens."""
    from werkzeug.serving import make_server

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the teacher's console
    sock = listen(host, port)
    try:
        server = make_server(host, sock.getsockname()[1], app, threaded=True, fd=sock.fileno())
    except BaseException:
        sock.close()
        raise
    try:  # Ctrl-C from here on, even while the address is being printed, ends quietly
        ready(f"http://{_shown(host)}:{server.port}/")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sock.close()


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def addresses() -> list[str]:
    """This machine's IPv4 addresses other students can reach (for --host 0.0.0.0)."""
    import socket

    found = set()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            found.add(s.getsockname()[0])
    except OSError:
        pass
    try:
        found |= {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    return sorted(a for a in found if not a.startswith("127."))
