"""The government data-sharing gateway: HTTP application, identity, errors, settings, CLI."""
