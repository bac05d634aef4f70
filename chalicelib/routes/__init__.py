"""Entrypoints: Chalice blueprints that verify, parse, call one service function and render."""
