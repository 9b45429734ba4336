"""What operators watch: liveness and database reachability (/healthz)."""
