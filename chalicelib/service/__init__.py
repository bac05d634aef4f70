"""The use cases, one module each, over one write funnel. `Broker` (broker.py) is their facade for the routes, the
Slack worker, the sweeper's function and the tests.

Dependencies point one way: funnel (every write) <- cuts (session guards) <- granting (a grant's life in IAM) <-
asking, extending <- deciding <- sweeping, drift. queries reads only. Each use case takes a `Deps` (deps.py)."""
