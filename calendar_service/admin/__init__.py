"""The admin area: accounts, commemoration edits with an audit log, subscribers, deliveries."""
