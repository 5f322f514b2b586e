"""Support inbox (issue #7): marketplace buyer chats stored as conversations and messages, read and answered
by people next to the order. ``rules`` is pure; ``service`` never commits; ``sync`` talks to Ozon between
short transactions; ``jobs`` wires it into the worker. See docs/support.md."""
