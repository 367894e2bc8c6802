"""Alerting: rules over the store's facts, evaluated by the leader worker, delivered to a
Slack-compatible webhook and by email (docs/alerts.md).

rules (pure) · facts (snapshot from the store) · evaluator (raise, refresh, resolve) ·
messages (pure text) · channels (webhook through app.upstreams.webhook, SMTP) ·
delivery (durable, retried queue in alert_deliveries) · dbwatch (database unreachable,
held in memory and sent directly). The API layers may not import this package.
"""
