"""Reminders: subscribers, the planner that records what is due, the dispatcher that sends
each reminder once, and the sign-up and unsubscribe pages."""
