"""The OpenAPI 3 document of the HTTP API, served at /v1/openapi.json. Kept beside the routes it describes."""
from __future__ import annotations

from typing import Any

STATES = ["pending", "approved", "active", "denied", "cancelled", "timed_out", "expired", "revoked", "failed"]
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_STR = {"type": "string", "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


_NEXT = {"name": "next", "in": "query", "description": "the cursor of the previous page, as returned (opaque)",
         "schema": {"type": "string"}}
_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}
_COMMON = {"401": _problem("no identity"), "400": _problem("malformed input")}


def _decision(summary: str, codes: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary, "security": [{"sigv4": []}], "parameters": [_ID],
        "responses": {"200": {"description": "the request after the change", **_json(_ref("Request"))}, **_COMMON,
                      **{code: _problem(text) for code, text in codes.items()}},
    }
    if body:
        op["requestBody"] = {"required": False, **_json(body)}
    return {"post": op}


def _extend() -> dict[str, Any]:
    body = {"type": "object", "additionalProperties": False, "required": ["duration"], "properties": {
        "duration": {"type": "string", "description": "how much longer: PT30M, 30m or 1h"}}}
    operation = _decision(
        "make an active grant last longer: a new approval round (approvers use /approve and /deny), or at once "
        "where the profile auto-approves extensions", {
            "403": "not the requester, or the profile allows no extensions", "404": "no such request",
            "409": "not active, or an extension is already waiting", "422": "beyond max_duration (states the longest "
                                                                            "allowed) or a malformed duration",
            "503": "IAM could not move the grant's end; nothing changed"}, body)
    operation["post"]["requestBody"]["required"] = True
    return operation


def openapi_document() -> dict[str, Any]:
    comment = {"type": "object", "additionalProperties": False, "properties": {"comment": {"type": "string",
                                                                                        "maxLength": 1000}}}
    empty = {"type": "object", "additionalProperties": False, "properties": {}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "access-broker", "version": "1.0.0",
                 "description": "Time-boxed, approved access into other AWS accounts."},
        "components": {
            "securitySchemes": {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                                          "x-amazon-apigateway-authtype": "awsSigv4"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}}},
                "Grant": {"type": "object", "nullable": True, "properties": {
                    "role_arn": {"type": "string"}, "policy_arn": {"type": "string"}, "starts_at": _TIME,
                    "expires_at": _TIME, "switch_role_url": {"type": "string"}, "console_url": {"type": "string"},
                    "usable_at": {**_TIME, "description": "when the broker expects the grant to work: its attach "
                                                          "plus IAM's propagation (the catalog's iam_propagation)"}}},
                "Request": {"type": "object", "required": [
                    "id", "state", "profile", "requester", "reason", "duration_seconds", "approvals_required",
                    "approvals", "created_at", "grant"], "properties": {
                    "id": {"type": "string"}, "state": {"type": "string", "enum": STATES},
                    "profile": {"type": "string"}, "account": {"type": "string"}, "role_arn": {"type": "string"},
                    "requester": {"type": "object", "properties": {"id": {"type": "string"},
                                                                   "iam_user": {"type": "string"}}},
                    "requested_by_tool": _NULLABLE_STR, "break_glass": {"type": "boolean"},
                    "reason": {"type": "string"},
                    "duration_seconds": {"type": "integer"}, "approvals_required": {"type": "integer"},
                    "approvals": {"type": "array", "items": {"type": "object", "properties": {
                        "by": {"type": "string", "description": "a person's id, or `on-call` (no human)"},
                        "at": _TIME, "comment": {"type": "string"},
                        "schedule": {"type": "string", "description": "on-call: the PagerDuty schedule"},
                        "pagerduty_user": {"type": "string", "description": "on-call: the PagerDuty user id"}}}},
                    "decided_by": _NULLABLE_STR, "decision_comment": {"type": "string"},
                    "failure_reason": _NULLABLE_STR, "created_at": _TIME, "updated_at": _TIME,
                    "grant": _ref("Grant"), "extension": _ref("Extension"), "sessions": _ref("Sessions")}},
                "Sessions": {"type": "object", "nullable": True, "description": "open role sessions of a grant: "
                             "`end_by` is when the last of them stops working (the grant's end when the target "
                             "account's session guard is written; while it is `pending`, the end plus one hour)",
                             "properties": {"guard": {"type": "string", "enum": ["written", "pending"]},
                                            "end_by": _TIME}},
                "Extension": {"type": "object", "nullable": True, "description": "an extension waiting for "
                              "approval (approvers answer it with /approve or /deny)", "properties": {
                    "duration_seconds": {"type": "integer"}, "requested_by": {"type": "string"},
                    "requested_at": _TIME, "approvals": {"type": "array", "items": {"type": "object", "properties": {
                        "by": {"type": "string"}, "at": _TIME}}}}},
                "Event": {"type": "object", "properties": {
                    "request_id": {"type": "string"}, "version": {"type": "integer"}, "kind": {"type": "string"},
                    "at": _TIME, "actor": {"type": "string"}, "channel": {"type": "string",
                                                                          "enum": ["api", "slack", "system"]},
                    "details": {"type": "object"}}},
                "NewRequest": {"type": "object", "additionalProperties": False, "required": ["profile", "reason"],
                               "properties": {
                                   "profile": {"type": "string"},
                                   "duration": {"type": "string", "description": "PT2H, 90m or 2h"},
                                   "reason": {"type": "string", "minLength": 1, "maxLength": 1000},
                                   "requester": {"type": "string", "description": "trusted tools only"},
                                   "break_glass": {"type": "boolean", "description":
                                                   "break-glass profiles only: active at once without approval, "
                                                   "reason of 20+ characters, announced and flagged for review"}}},
            },
        },
        "paths": {
            "/v1/health": {"get": {"summary": "liveness", "responses": {"200": {"description": "up", **_json(
                {"type": "object", "properties": {"ok": {"type": "boolean"}}})}}}},
            "/v1/openapi.json": {"get": {"summary": "this document", "responses": {"200": {
                "description": "OpenAPI 3", **_json({"type": "object"})}}}},
            "/v1/profiles": {"get": {"summary": "profiles the caller may request", "security": [{"sigv4": []}],
                                     "responses": {"200": {"description": "profiles", **_json({
                                         "type": "object", "properties": {"profiles": {"type": "array",
                                                                                       "items": {"type": "object"}}}})},
                                         "401": _problem("no identity")}}},
            "/v1/requests": {
                "post": {"summary": "ask for access", "security": [{"sigv4": []}],
                         "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                         "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
                         "requestBody": {"required": True, **_json(_ref("NewRequest"))},
                         "responses": {"201": {"description": "created", **_json(_ref("Request"))}, **_COMMON,
                                       "403": _problem("may not request on behalf of others, or no "
                                                       "break-glass on this profile"),
                                       "409": _problem("idempotency key reused with another body"),
                                       "422": _problem("unknown profile, duration out of range, unmapped person")}},
                "get": {"summary": "list requests", "security": [{"sigv4": []}], "parameters": [
                    {"name": "state", "in": "query", "schema": {"type": "string", "enum": STATES}},
                    {"name": "mine", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
                    {"name": "awaiting_me", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    _NEXT],
                        "responses": {"200": {"description": "a page", **_json({"type": "object", "properties": {
                            "requests": {"type": "array", "items": _ref("Request")}, "next": _NULLABLE_STR}})},
                            **_COMMON}},
            },
            "/v1/requests/{request_id}": {"get": {
                "summary": "one request", "security": [{"sigv4": []}], "parameters": [_ID],
                "responses": {"200": {"description": "the request", **_json(_ref("Request"))}, **_COMMON,
                              "404": _problem("no such request")}}},
            "/v1/requests/{request_id}/events": {"get": {
                "summary": "the audit trail of one request", "security": [{"sigv4": []}], "parameters": [_ID],
                "responses": {"200": {"description": "oldest first", **_json({"type": "object", "properties": {
                    "events": {"type": "array", "items": _ref("Event")}}})}, **_COMMON,
                              "404": _problem("no such request")}}},
            "/v1/requests/{request_id}/approve": _decision(
                "approve", {"403": "not an approver, or own request", "404": "no such request",
                            "409": "already decided", "422": "an extension beyond the profile's max_duration in total",
                            "503": "IAM could not move the grant's end for an extension; nothing changed"}, comment),
            "/v1/requests/{request_id}/deny": _decision(
                "deny", {"403": "not an approver", "404": "no such request", "409": "already decided"}, comment),
            "/v1/requests/{request_id}/cancel": _decision(
                "cancel a pending request", {"403": "not the requester", "404": "no such request",
                                             "409": "not pending"}, empty),
            "/v1/requests/{request_id}/revoke": _decision(
                "end an active grant now", {"403": "not the requester or an approver", "404": "no such request",
                                            "409": "not active"}, empty),
            "/v1/requests/{request_id}/extend": _extend(),
            "/v1/audit": {"get": {
                "summary": "every event in a window (at most 31 days, default the last day), JSON lines, "
                           "oldest first", "security": [{"sigv4": []}],
                "parameters": [{"name": "since", "in": "query", "schema": _TIME},
                               {"name": "until", "in": "query", "schema": _TIME},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                            "maximum": 1000}},
                               _NEXT],
                "responses": {"200": {"description": "JSON lines",
                                      "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                              **_COMMON, "403": _problem("not an approver or trusted tool")}}},
            "/v1/console/{token}": {"get": {
                "summary": "signed console link", "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"302": {"description": "to the switch-role page"},
                              "403": _problem("bad signature"), "410": _problem("expired or ended"),
                              "404": _problem("no such request")}}},
        },
    }
