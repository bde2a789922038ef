"""The development server (`make run`, i.e. `runserver` with the dev settings) answers a
path that climbs out of the static folders with 404, not 500, and still serves static
files. Served over real HTTP by the handler `runserver` builds, as `make run` does."""

import http.client
import threading

import pytest
from django.core.management import get_commands, load_command_class
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer


@pytest.fixture
def dev_server(settings):
    settings.DEBUG = True  # the dev default; the handler's middleware reads it when built
    command = load_command_class(get_commands()["runserver"], "runserver")
    options = command.create_parser("manage.py", "runserver").parse_args([])
    handler = command.get_handler(**vars(options))

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = WSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def get(path: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        try:
            connection.request("GET", path)  # sent as written: no client-side normalising of %2e
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    yield get
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("path", [
    "/static/%2e%2e/%2e%2e/config/settings.py",
    "/static/%2e%2e/manage.py",
    "/static/..%2f..%2fconfig/settings.py",
    "/static/css/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    "/static/%2e%2e%5c%2e%2e%5cmanage.py",
    "/static/vendor/htmx/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json",
])
def test_a_path_out_of_the_static_folders_is_404(dev_server, path):
    assert dev_server(path) == 404


def test_static_files_are_still_served_in_development(dev_server):
    assert dev_server("/static/css/yanxiu.css") == 200
    assert dev_server("/static/css/missing.css") == 404
