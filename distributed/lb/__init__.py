"""The load balancer of the distributed variant: HAProxy's configuration and its renderer."""
