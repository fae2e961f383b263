"""The network service: networks, subnets, ports (with IPAM) and security groups, as
the Networking API v2.0 describes them; hosts realise them (``agent.network``)."""
