"""trinq: ZeroMQ for trio."""
