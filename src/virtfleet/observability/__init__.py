"""What operators observe of a process: its Prometheus metrics (:mod:`.metrics`), the
request id each log line carries (:mod:`.request_id`) and the log formats
(:mod:`.logs`). Nothing here imports the rest of virtfleet; every layer records into it."""
