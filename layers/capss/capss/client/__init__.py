"""Talks to CAPSS over HTTPS (httpx only): api paths, OAuth2 and its token cache, TLS,
status bodies, and the client that ties them together."""
