"""access-broker: time-boxed, approved access into other AWS accounts. Routes live in chalicelib/routes."""
import logging

from chalice import Chalice, Rate

from chalicelib import bootstrap
from chalicelib.routes.api import api
from chalicelib.routes.console import console
from chalicelib.routes.http import chalice_answers_as_problems
from chalicelib.routes.slack import slack

app = Chalice(app_name="access-broker")
app.register_blueprint(api)
app.register_blueprint(console)
app.register_blueprint(slack)
app.register_middleware(chalice_answers_as_problems(app.routes), "http")  # Chalice's own 405 and 415 as problem+json
# Chalice keeps app.log at ERROR unless debug is on, and Lambda's root logger passes WARNING and up: INFO from the app
# and chalicelib reaches CloudWatch too. The audit and sweep JSON lines (chalicelib/audit_log.py) need neither.
app.log.setLevel(logging.INFO)
logging.getLogger("chalicelib").setLevel(logging.INFO)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event):  # type: ignore[no-untyped-def]
    """Does what is due (expiries, timeouts, reminders, warnings, half-applied grants) and repairs drift."""
    bootstrap.broker().sweep()  # the pass writes its own JSON line with its counts (the heartbeat's metric)


@app.lambda_function(name="worker")
def worker(event, context):  # type: ignore[no-untyped-def]
    """Slow Slack and IAM work, invoked asynchronously (InvocationType=Event) once Slack has its answer. Runs only
    jobs sealed by the broker's own functions within the window (chalicelib/slack/sealed.py); refuses the rest."""
    bootstrap.worker().run_sealed(event)
