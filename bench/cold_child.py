"""One cold start, run as a fresh interpreter: import a Chalice app module and answer one API Gateway event,
the way Lambda's runtime does. Prints {"import_s", "answer_s", "cpu_s", "max_rss_mb", "status", "at"} as one JSON
line (cpu_s: this process's CPU time for both, which other load on the machine disturbs far less than wall time;
max_rss_mb: its peak resident memory, which a Lambda function's memory size must hold).

With BENCH_COUNT_CALLS=1 it also prints "calls", the AWS calls of the start by operation (hooked on the app's botocore
session before the app is imported: such a start is not timed).

Usage: python bench/cold_child.py <module> <event.json>. Kept free of imports the app would not need."""
import json
import os
import sys
import time

MARK = "bench: cold path starts"
started = time.perf_counter()
module_name, event_path = sys.argv[1], sys.argv[2]
with open(event_path) as f:
    event = json.load(f)
calls: dict = {}
if os.environ.get("BENCH_COUNT_CALLS"):
    from chalicelib.aws import clients

    def _count(model: object, **_: object) -> None:
        name = f"{model.service_model.service_name}:{model.name}"  # type: ignore[attr-defined]
        calls[name] = calls.get(name, 0) + 1

    clients.session().get_component("event_emitter").register("before-call.*.*", _count)
read, read_cpu = time.perf_counter(), time.process_time()
sys.stderr.write(MARK + "\n")  # under -X importtime: what follows is the app's cold path, not interpreter start
sys.stderr.flush()

module = __import__(module_name, fromlist=["app"])
imported = time.perf_counter()


class Context:  # what Lambda passes; Chalice only keeps it
    aws_request_id = "cold-start-bench"
    function_name = "access-broker-bench"
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))  # Lambda sets it

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


response = module.app(event, Context())
answered, answered_cpu = time.perf_counter(), time.process_time()
import resource  # noqa: E402  (after the answer: not part of the cold path)

max_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux counts KiB
print(json.dumps({"import_s": imported - read, "answer_s": answered - imported, "cpu_s": answered_cpu - read_cpu,
                  "max_rss_mb": max_rss_mb, "status": response["statusCode"],
                  "body": str(response.get("body"))[:300], "at": time.time(), "calls": calls}), flush=True)
