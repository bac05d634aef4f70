"""The app on chalice's local server, in a thread, with the local stage's settings: for `make run`,
`make demo` and the tests that need a real HTTP server."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serving(port: int = 0, quiet: bool = False) -> Iterator[str]:
    """Serves on 127.0.0.1:`port` (0: a free one) against the world in the environment, table created;
    yields the base URL. The stage's environment variables are set while serving and restored after."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import ChaliceRequestHandler, create_local_server

    from chalicelib import bootstrap
    from chalicelib.store.schema import create_table

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="local")
    before = {name: os.environ.get(name) for name in config.environment_variables}
    os.environ.update(config.environment_variables)
    bootstrap.reset()
    create_table(bootstrap.settings().table_name)
    server = create_local_server(config.chalice_app, config, "127.0.0.1", port)
    if quiet:
        ChaliceRequestHandler.log_message = lambda *args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.server.serve_forever, name="chalice-local", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.shutdown()
        server.server.server_close()
        thread.join(5)
        for name, value in before.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        bootstrap.reset()
