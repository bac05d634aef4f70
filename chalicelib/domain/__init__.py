"""The domain: access requests, their states and rules. Pure: no I/O, no clock, no AWS."""
