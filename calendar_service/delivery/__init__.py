"""The delivery ledger, shared by every feature that sends notices: the deliveries table
(models.py), the channels that carry a notice (channels/), and the dispatcher that claims,
sends and records each one exactly once (dispatch.py). A feature plans its rows and
provides a `Kind` that turns a claimed row into a `Letter`."""
