"""The CDC service process: capture, durable log, sinks, and the gRPC front end for subscribers."""
