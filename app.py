"""access-broker: time-boxed, approved access into other AWS accounts. Routes live in chalicelib/routes."""
from chalice import Chalice, Rate

from chalicelib import bootstrap
from chalicelib.routes.api import api
from chalicelib.routes.console import console

app = Chalice(app_name="access-broker")
app.register_blueprint(api)
app.register_blueprint(console)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event):  # type: ignore[no-untyped-def]
    """Ends what is due: expired grants, stale pending requests, half-applied grants."""
    from chalicelib.sweeper import sweep as sweep_once

    report = sweep_once(bootstrap.broker())
    app.log.info("sweep: %d expired, %d timed out, %d applied", len(report.expired), len(report.timed_out),
                 len(report.applied))
