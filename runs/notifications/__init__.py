"""Notifications that reach people: channels, rules, the outbox and its sender loop.

- ``models``: ``Channel`` (e-mail, Slack, Teams, webhook), ``NotificationRule`` (the
  admin's), ``RunSubscription`` ("Notify me when it ends"), ``Notification`` (the outbox).
- ``events``: the state changes that write outbox rows, in their own transaction.
- ``outbox``: the sender loop of workers and schedulers; ``senders``: one per channel kind;
  ``messages``: what a message says, in its recipient's language.
"""
