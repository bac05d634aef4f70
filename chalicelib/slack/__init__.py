"""Slack, the main front door: verify and parse Slack's requests, render Block Kit, post through the Web API."""
