"""Adapters of dispatch-meta: proto mapping, the Graph API client, credentials files."""
