"""Telling people: pluggable channels (console stream, MQTT to the worker app, webhooks for
SMS or push gateways), a per-recipient rate limiter, and the notifier that uses both."""
